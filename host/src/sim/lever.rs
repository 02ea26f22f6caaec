//! A Lever API v1 simulator that answers the requests the connector makes with Lever's
//! shapes (`tests/fixtures/lever/recorded/`): API-key and bearer auth, `perform_as` on the
//! writes that require it, stages, users, postings, opportunities (get, list, create with
//! email dedupe and posting tags, stage change), the webhook management API, Lever-shaped
//! errors and pagination, a token-bucket rate limit with 429s, and signed webhook
//! deliveries (retried like Lever: 5 more times on failure, a new token each time).
//!
//! Where Lever's behaviour is unconfirmed, the choice is a named constant or documented
//! here so it is easy to change.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};
use tokio::sync::broadcast;

use crate::http_util::{now_ms, HttpClient, SimRequest, SimResponse};
use crate::signing::{lever_delivery, random_token};

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
    pub const TOO_MANY: &str = "TooManyRequestsError";
}

/// The API key the simulator accepts by default.
pub const DEFAULT_API_KEY: &str = "sim-api-key";

/// How the simulator behaves.
#[derive(Debug, Clone)]
pub struct LeverSimOptions {
    /// Accepted API keys (HTTP Basic user name, empty password).
    pub api_keys: Vec<String>,
    /// Accepted OAuth access tokens (Bearer).
    pub bearer_tokens: Vec<String>,
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
            api_keys: vec![DEFAULT_API_KEY.into()],
            bearer_tokens: vec!["sim-access-token".into()],
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
            "updatedAt": self.created_at,
        })
    }
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

#[derive(Debug, Default)]
struct State {
    stages: Vec<Value>,
    users: Vec<Value>,
    postings: Vec<Value>,
    opportunities: Vec<Value>,
    webhooks: Vec<Webhook>,
    deliveries: Vec<DeliveryAttempt>,
    buckets: HashMap<String, Bucket>,
    limited: u64,
}

/// A pending webhook event produced by a change.
#[derive(Debug, Clone)]
struct Fire {
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
}

fn error(status: u16, code: &str, message: impl Into<String>) -> SimResponse {
    SimResponse::json(status, json!({ "code": code, "message": message.into() }))
}

fn fixture(text: &str) -> Value {
    serde_json::from_str(text).expect("embedded fixtures are valid JSON")
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

impl LeverSim {
    /// A simulator seeded with the account in `tests/fixtures/lever/api/`: eight stages,
    /// two users (one deactivated), two postings and one opportunity (Ada Lovelace).
    pub fn new(options: LeverSimOptions) -> Self {
        let stages = fixture(include_str!(
            "../../../tests/fixtures/lever/api/stages.json"
        ));
        let users = fixture(include_str!("../../../tests/fixtures/lever/api/users.json"));
        let postings = fixture(include_str!(
            "../../../tests/fixtures/lever/api/postings-page1.json"
        ));
        let opportunity = fixture(include_str!(
            "../../../tests/fixtures/lever/api/opportunity.json"
        ));
        let mut postings: Vec<Value> = postings["data"].as_array().cloned().unwrap_or_default();
        postings.push(json!({
            "id": "5c3a7f3e-0b7a-4d0e-9a51-3e1f3b8d2a77",
            "text": "Technical Recruiter",
            "state": "published",
            "categories": { "team": "People", "department": "Operations", "location": "London", "commitment": "Full-time", "level": "Mid" },
            "tags": [],
            "workplaceType": "hybrid",
            "createdAt": 1763164800000u64,
            "updatedAt": 1763164800000u64,
            "urls": {
                "list": "https://jobs.lever.co/customer",
                "show": "https://jobs.lever.co/customer/5c3a7f3e-0b7a-4d0e-9a51-3e1f3b8d2a77",
                "apply": "https://jobs.lever.co/customer/5c3a7f3e-0b7a-4d0e-9a51-3e1f3b8d2a77/apply"
            }
        }));
        let state = State {
            stages: stages["data"].as_array().cloned().unwrap_or_default(),
            users: users["data"].as_array().cloned().unwrap_or_default(),
            postings,
            opportunities: vec![opportunity["data"].clone()],
            ..State::default()
        };
        let (deliveries, _) = broadcast::channel(256);
        Self {
            state: Arc::new(Mutex::new(state)),
            options: Arc::new(options),
            deliveries,
            client: HttpClient::default(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every webhook delivery attempt so far.
    pub fn deliveries(&self) -> Vec<DeliveryAttempt> {
        self.state().deliveries.clone()
    }

    /// Receives each delivery attempt as it completes.
    pub fn subscribe(&self) -> broadcast::Receiver<DeliveryAttempt> {
        self.deliveries.subscribe()
    }

    /// An opportunity as stored.
    pub fn opportunity(&self, id: &str) -> Option<Value> {
        self.state()
            .opportunities
            .iter()
            .find(|o| o["id"] == id)
            .cloned()
    }

    /// Registers a webhook directly (as a Lever admin would in the UI) and returns its id.
    pub fn add_webhook(&self, event: &str, url: &str, signature_token: &str) -> String {
        let webhook = Webhook {
            id: uuid(),
            url: url.into(),
            event: event.into(),
            signature_token: signature_token.into(),
            origins: json!(ORIGINS),
            created_at: now_ms(),
        };
        let id = webhook.id.clone();
        self.state().webhooks.push(webhook);
        id
    }

    /// Handles one request (the HTTP server calls this).
    pub async fn handle(&self, request: SimRequest) -> SimResponse {
        let (response, fires) = self.answer(&request);
        for fire in fires {
            self.fire(fire);
        }
        response
    }

    fn answer(&self, request: &SimRequest) -> (SimResponse, Vec<Fire>) {
        let segments: Vec<&str> = request.path.trim_matches('/').split('/').collect();
        if segments.first() == Some(&"_sim") {
            return self.admin(request, &segments[1..]);
        }
        if segments.first() != Some(&"v1") {
            return (error(404, code::NOT_FOUND, "Not found"), vec![]);
        }
        let Some(credential) = self.authenticate(request) else {
            return (
                error(401, code::UNAUTHORIZED, "Invalid or missing credentials"),
                vec![],
            );
        };
        if let Some(limited) = self.rate_limit(&credential) {
            return (limited, vec![]);
        }
        self.api(request, &segments[1..])
    }

    fn authenticate(&self, request: &SimRequest) -> Option<String> {
        let header = request.headers.get("authorization")?;
        if let Some(encoded) = header.strip_prefix("Basic ") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()?;
            let decoded = String::from_utf8(decoded).ok()?;
            let (key, _password) = decoded.split_once(':')?;
            return self
                .options
                .api_keys
                .iter()
                .any(|k| k == key)
                .then(|| format!("key:{key}"));
        }
        let token = header.strip_prefix("Bearer ")?.trim();
        self.options
            .bearer_tokens
            .iter()
            .any(|t| t == token)
            .then(|| format!("token:{token}"))
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

    fn api(&self, request: &SimRequest, path: &[&str]) -> (SimResponse, Vec<Fire>) {
        let method = request.method.as_str();
        let none = |r| (r, vec![]);
        match (method, path) {
            ("GET", ["stages"]) => none(self.list(request, |s| s.stages.clone())),
            ("GET", ["stages", id]) => none(self.one(
                |s| s.stages.iter().find(|x| x["id"] == *id).cloned(),
                "Stage",
            )),
            ("GET", ["users"]) => {
                let all = request.query("includeDeactivated") == Some("true");
                none(self.list(request, |s| {
                    s.users
                        .iter()
                        .filter(|u| all || u["deactivatedAt"].is_null())
                        .cloned()
                        .collect()
                }))
            }
            ("GET", ["users", id]) => {
                none(self.one(|s| s.users.iter().find(|x| x["id"] == *id).cloned(), "User"))
            }
            ("GET", ["postings"]) => {
                let state_filter: Vec<String> = request
                    .query_all("state")
                    .into_iter()
                    .map(String::from)
                    .collect();
                none(self.list(request, |s| {
                    s.postings
                        .iter()
                        .filter(|p| {
                            state_filter.is_empty()
                                || state_filter.iter().any(|f| p["state"] == f.as_str())
                        })
                        .cloned()
                        .collect()
                }))
            }
            ("GET", ["postings", id]) => none(self.one(
                |s| s.postings.iter().find(|x| x["id"] == *id).cloned(),
                "Posting",
            )),
            ("GET", ["opportunities"]) => none(self.list_opportunities(request)),
            ("GET", ["opportunities", id]) => none(self.one(
                |s| s.opportunities.iter().find(|x| x["id"] == *id).cloned(),
                "Opportunity",
            )),
            ("POST", ["opportunities"]) => self.create_opportunity(request),
            ("PUT", ["opportunities", id, "stage"]) => {
                let perform_as = request.query("perform_as").map(String::from);
                match serde_json::from_slice::<Value>(&request.body) {
                    Ok(body) => self.change_stage(id, &body, perform_as.as_deref()),
                    Err(_) => none(error(400, code::BAD_REQUEST, "Body must be JSON")),
                }
            }
            ("GET", ["webhooks"]) => {
                let data: Vec<Value> = self
                    .state()
                    .webhooks
                    .iter()
                    .map(|w| w.public(false))
                    .collect();
                none(SimResponse::json(200, json!({ "data": data })))
            }
            ("POST", ["webhooks"]) => none(self.create_webhook(request)),
            ("DELETE", ["webhooks", id]) => {
                let mut state = self.state();
                let before = state.webhooks.len();
                state.webhooks.retain(|w| w.id != *id);
                none(if state.webhooks.len() < before {
                    SimResponse::empty(204)
                } else {
                    error(404, code::NOT_FOUND, "Webhook not found")
                })
            }
            _ => none(error(
                404,
                code::NOT_FOUND,
                format!("No route for {method} /v1/{}", path.join("/")),
            )),
        }
    }

    fn one(&self, find: impl FnOnce(&State) -> Option<Value>, what: &str) -> SimResponse {
        match find(&self.state()) {
            Some(data) => SimResponse::json(200, json!({ "data": data })),
            None => error(404, code::NOT_FOUND, format!("{what} not found")),
        }
    }

    /// Lever's list envelope: `limit` 1–100 (default 100), `offset` = the opaque `next`.
    fn list(&self, request: &SimRequest, items: impl FnOnce(&State) -> Vec<Value>) -> SimResponse {
        let limit = match request.query("limit").map(str::parse::<usize>) {
            None => 100,
            Some(Ok(n)) if (1..=100).contains(&n) => n,
            Some(_) => return error(400, code::BAD_REQUEST, "limit must be between 1 and 100"),
        };
        let start = match request.query("offset") {
            None => 0,
            Some(token) => match decode_offset(token) {
                Some(n) => n,
                None => return error(400, code::BAD_REQUEST, "Invalid offset"),
            },
        };
        let all = items(&self.state());
        let page: Vec<Value> = all.iter().skip(start).take(limit).cloned().collect();
        let end = start + page.len();
        let mut body = json!({ "data": page, "hasNext": end < all.len() });
        if end < all.len() {
            body["next"] = json!(encode_offset(end));
        }
        SimResponse::json(200, body)
    }

    fn list_opportunities(&self, request: &SimRequest) -> SimResponse {
        let email = request.query("email").map(str::to_ascii_lowercase);
        let stage = request.query("stage_id").map(String::from);
        let contact = request.query("contact_id").map(String::from);
        let posting = request.query("posting_id").map(String::from);
        let tags: Vec<String> = request
            .query_all("tag")
            .into_iter()
            .map(String::from)
            .collect();
        let archived = request.query("archived").map(|v| v == "true");
        let updated_start = request
            .query("updated_at_start")
            .and_then(|v| v.parse::<u64>().ok());
        let confidential = request.query("confidentiality") == Some("all");
        self.list(request, |s| {
            s.opportunities
                .iter()
                .filter(|o| confidential || o["confidentiality"] != "confidential")
                .filter(|o| {
                    email.as_ref().is_none_or(|e| {
                        o["emails"].as_array().is_some_and(|a| {
                            a.iter().any(|x| {
                                x.as_str().map(str::to_ascii_lowercase).as_ref() == Some(e)
                            })
                        })
                    })
                })
                .filter(|o| stage.as_ref().is_none_or(|s| o["stage"] == s.as_str()))
                .filter(|o| contact.as_ref().is_none_or(|c| o["contact"] == c.as_str()))
                .filter(|o| {
                    posting
                        .as_ref()
                        .is_none_or(|p| o["_postingId"] == p.as_str())
                })
                .filter(|o| {
                    tags.is_empty()
                        || tags.iter().any(|t| {
                            o["tags"]
                                .as_array()
                                .is_some_and(|a| a.iter().any(|x| x == t.as_str()))
                        })
                })
                .filter(|o| archived.is_none_or(|a| o["archived"].is_null() != a))
                .filter(|o| updated_start.is_none_or(|t| o["updatedAt"].as_u64().unwrap_or(0) >= t))
                .map(public_opportunity)
                .collect()
        })
    }

    fn active_user(&self, perform_as: Option<&str>) -> Result<String, SimResponse> {
        let Some(user) = perform_as else {
            return Err(error(
                400,
                code::BAD_REQUEST,
                "perform_as is required for this request",
            ));
        };
        let state = self.state();
        match state.users.iter().find(|u| u["id"] == user) {
            Some(u) if u["deactivatedAt"].is_null() => Ok(user.to_string()),
            Some(_) => Err(error(
                400,
                code::BAD_REQUEST,
                "perform_as user is deactivated",
            )),
            None => Err(error(400, code::BAD_REQUEST, "perform_as user not found")),
        }
    }

    fn create_opportunity(&self, request: &SimRequest) -> (SimResponse, Vec<Fire>) {
        let user = match self.active_user(request.query("perform_as")) {
            Ok(user) => user,
            Err(response) => return (response, vec![]),
        };
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return (error(400, code::BAD_REQUEST, "Body must be JSON"), vec![]);
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
            if ![
                "agency",
                "applied",
                "internal",
                "referred",
                "sourced",
                "university",
            ]
            .contains(&origin)
            {
                return (
                    error(400, code::BAD_REQUEST, format!("Invalid origin {origin}")),
                    vec![],
                );
            }
        }
        let now = now_ms();
        let mut state = self.state();
        let stage = body["stage"].as_str().unwrap_or("lead-new").to_string();
        let Some(stage_index) = state.stages.iter().position(|s| s["id"] == stage.as_str()) else {
            return (
                error(400, code::BAD_REQUEST, format!("Invalid stage id {stage}")),
                vec![],
            );
        };
        let posting = match postings.first().and_then(Value::as_str) {
            None => None,
            Some(id) => match state.postings.iter().find(|p| p["id"] == id) {
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
        let existing_contact = state
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
        let opportunity = json!({
            "id": id,
            "name": body["name"].as_str().unwrap_or(""),
            "contact": contact,
            "headline": body["headline"].as_str().unwrap_or(""),
            "stage": stage,
            "confidentiality": "non-confidential",
            "location": body["location"].as_str().unwrap_or(""),
            "phones": body["phones"].as_array().cloned().unwrap_or_default(),
            "emails": emails,
            "links": strings("links"),
            "archived": Value::Null,
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
            "snoozedUntil": Value::Null,
            "urls": { "list": "https://hire.lever.co/candidates", "show": format!("https://hire.lever.co/candidates/{id}") },
            "isAnonymized": false,
            "dataProtection": Value::Null,
            "_postingId": posting.as_ref().map(|p| p["id"].clone()).unwrap_or(Value::Null),
        });
        state.opportunities.push(opportunity.clone());
        let mut fires = Vec::new();
        if let Some(p) = &posting {
            fires.push(Fire {
                event: "applicationCreated",
                data: json!({
                    "applicationId": opportunity["applications"][0],
                    "opportunityId": id,
                    "contactId": opportunity["contact"],
                    "postingId": p["id"],
                }),
            });
        }
        (
            SimResponse::json(
                201,
                json!({ "deduped": deduped, "data": public_opportunity(&opportunity) }),
            ),
            fires,
        )
    }

    /// Moves an opportunity to `body.stage`; fires `candidateStageChange`. The same stage
    /// again is answered 200 without a new history entry or webhook (Lever's behaviour here
    /// is unconfirmed). An archived opportunity stays archived.
    fn change_stage(
        &self,
        id: &str,
        body: &Value,
        perform_as: Option<&str>,
    ) -> (SimResponse, Vec<Fire>) {
        let Some(stage) = body["stage"].as_str() else {
            return (error(400, code::BAD_REQUEST, "stage is required"), vec![]);
        };
        let now = now_ms();
        let mut state = self.state();
        let Some(index) = state.stages.iter().position(|s| s["id"] == stage) else {
            return (
                error(400, code::BAD_REQUEST, format!("Invalid stage id {stage}")),
                vec![],
            );
        };
        let user = perform_as
            .map(String::from)
            .or_else(|| {
                state
                    .users
                    .first()
                    .and_then(|u| u["id"].as_str().map(String::from))
            })
            .unwrap_or_default();
        let Some(opportunity) = state.opportunities.iter_mut().find(|o| o["id"] == id) else {
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

    fn create_webhook(&self, request: &SimRequest) -> SimResponse {
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
        let webhook = Webhook {
            id: uuid(),
            url: url.into(),
            event: event.into(),
            signature_token: hex::encode(rand::random::<[u8; 24]>()),
            origins,
            created_at: now_ms(),
        };
        let data = webhook.public(true);
        self.state().webhooks.push(webhook);
        SimResponse::json(201, json!({ "data": data }))
    }

    fn admin(&self, request: &SimRequest, path: &[&str]) -> (SimResponse, Vec<Fire>) {
        match (request.method.as_str(), path) {
            ("GET", ["deliveries"]) => (
                SimResponse::json(200, json!({ "data": self.state().deliveries })),
                vec![],
            ),
            // "A recruiter moves the candidate in Lever's UI": no API credentials needed.
            ("POST", ["opportunities", id, "stage"]) => {
                match serde_json::from_slice::<Value>(&request.body) {
                    Ok(body) => self.change_stage(id, &body, None),
                    Err(_) => (error(400, code::BAD_REQUEST, "Body must be JSON"), vec![]),
                }
            }
            _ => (
                error(404, code::NOT_FOUND, "No such simulator route"),
                vec![],
            ),
        }
    }

    /// Delivers `fire` to every webhook for its event, retrying failures in the background.
    fn fire(&self, fire: Fire) {
        let hooks: Vec<Webhook> = self
            .state()
            .webhooks
            .iter()
            .filter(|w| w.event == fire.event)
            .cloned()
            .collect();
        for hook in hooks {
            let sim = self.clone();
            let data = fire.data.clone();
            tokio::spawn(async move { sim.deliver(hook, data).await });
        }
    }

    async fn deliver(&self, hook: Webhook, data: Value) {
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

/// The opportunity as Lever shows it (without the simulator's bookkeeping fields).
fn public_opportunity(opportunity: &Value) -> Value {
    let mut shown = opportunity.clone();
    if let Some(map) = shown.as_object_mut() {
        map.retain(|k, _| !k.starts_with('_'));
    }
    shown
}

fn encode_offset(offset: usize) -> String {
    base64::engine::general_purpose::STANDARD.encode(json!({ "offset": offset }).to_string())
}

fn decode_offset(token: &str) -> Option<usize> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(token)
        .ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    value["offset"].as_u64().map(|n| n as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_round_trip_in_lever_style() {
        assert_eq!(encode_offset(1), "eyJvZmZzZXQiOjF9");
        assert_eq!(decode_offset("eyJvZmZzZXQiOjF9"), Some(1));
        assert_eq!(decode_offset("garbage"), None);
    }
}
