//! The one place that talks to Lever: typed ids and objects, request builders joined onto
//! the configured API root, and one interpretation of Lever's answers.

pub mod webhook;

use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::config::RateLimit;
use crate::error::{ConnectorError, Service};
use crate::io::{Env, HttpUrl, Method, Request, Response, TransportError, UnixMillis};
use crate::secret::Secret;

macro_rules! id_type {
    ($(#[$doc:meta] $name:ident),* $(,)?) => {$(
        #[$doc]
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// The id as Lever spells it.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}

id_type!(
    /// A Lever opportunity id.
    OpportunityId,
    /// A Lever contact id.
    ContactId,
    /// A Lever stage id (slug or UUID).
    StageId,
    /// A Lever user id.
    UserId,
);

/// One entry of an opportunity's stage history.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageChange {
    /// The stage moved to.
    pub to_stage_id: StageId,
    /// When.
    #[serde(default)]
    pub updated_at: UnixMillis,
    /// Who moved it, when known.
    #[serde(default)]
    pub user_id: Option<UserId>,
}

/// Why and since when an opportunity is archived.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Archived {
    /// The archive reason id.
    #[serde(default)]
    pub reason: Option<String>,
    /// When.
    #[serde(default)]
    pub archived_at: Option<UnixMillis>,
}

/// An object's links into Lever's UI.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Urls {
    /// The page of the object.
    #[serde(default)]
    pub show: Option<String>,
}

/// A Lever opportunity, read tolerantly: unknown fields are ignored, optional ones default.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Opportunity {
    /// Its id.
    pub id: OpportunityId,
    /// Candidate name.
    #[serde(default)]
    pub name: String,
    /// The contact.
    pub contact: ContactId,
    /// The current stage.
    pub stage: StageId,
    /// Set when archived.
    #[serde(default)]
    pub archived: Option<Archived>,
    /// Email addresses.
    #[serde(default)]
    pub emails: Vec<String>,
    /// Links.
    #[serde(default)]
    pub links: Vec<String>,
    /// How it came in.
    #[serde(default)]
    pub origin: Option<String>,
    /// Links into Lever's UI.
    #[serde(default)]
    pub urls: Urls,
    /// Creation time.
    #[serde(default)]
    pub created_at: UnixMillis,
    /// Stage history, oldest first.
    #[serde(default)]
    pub stage_changes: Vec<StageChange>,
    /// Last update.
    #[serde(default)]
    pub updated_at: UnixMillis,
}

impl Opportunity {
    /// The history entry that moved it into its current stage, and the stage before that.
    pub fn current_stage_entry(&self) -> (Option<&StageChange>, Option<&StageId>) {
        let position = self
            .stage_changes
            .iter()
            .rposition(|change| change.to_stage_id == self.stage);
        match position {
            Some(index) => (
                self.stage_changes.get(index),
                index
                    .checked_sub(1)
                    .and_then(|i| self.stage_changes.get(i))
                    .map(|c| &c.to_stage_id),
            ),
            None => (None, None),
        }
    }
}

/// Lever's envelope around single objects.
#[derive(Debug, Deserialize)]
struct Envelope<T> {
    data: T,
}

/// Lever's error body.
#[derive(Debug, Deserialize)]
struct LeverErrorBody {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// How a request authenticates to Lever.
#[derive(Debug, Clone)]
pub enum Credential {
    /// HTTP Basic with the API key as user name and an empty password.
    ApiKey(Secret),
    /// An OAuth access token.
    Bearer(Secret),
}

/// Builds requests to Lever for one account.
#[derive(Debug, Clone)]
pub struct LeverApi {
    api_base: HttpUrl,
    credential: Credential,
    bucket: Option<String>,
    background: bool,
}

/// The user agent the connector sends.
pub const USER_AGENT: &str = concat!("lever-connector/", env!("CARGO_PKG_VERSION"));

impl LeverApi {
    /// A client for the account behind `credential`.
    pub fn new(api_base: HttpUrl, credential: Credential) -> Self {
        Self {
            api_base,
            credential,
            bucket: None,
            background: false,
        }
    }

    /// The same client, its requests counted against the connection's rate-limit bucket.
    pub fn throttled(mut self, connection: &str) -> Self {
        self.bucket = Some(connection.to_string());
        self
    }

    /// The same client for background work (reconciliation, polls): its requests take
    /// tokens only from the upper half of the connection's bucket, leaving the rest for
    /// deliveries and partner calls.
    pub fn background(mut self) -> Self {
        self.background = true;
        self
    }

    /// The API root.
    pub fn api_base(&self) -> &HttpUrl {
        &self.api_base
    }

    /// `GET /opportunities/:id`.
    pub fn get_opportunity(&self, id: &OpportunityId) -> Request {
        self.request(Method::Get, &["opportunities", id.as_str()], &[], None)
    }

    /// A request for `segments` below the API root (each segment percent-encoded), with
    /// `query` pairs, auth, user agent and, for a body, the JSON content type.
    pub fn request(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Request {
        let url = self.api_base.join(segments, query);
        let authorization = match &self.credential {
            Credential::ApiKey(key) => format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{}:", key.expose()))
            ),
            Credential::Bearer(token) => format!("Bearer {}", token.expose()),
        };
        let mut headers = vec![
            ("authorization".to_string(), authorization),
            ("accept".to_string(), "application/json".to_string()),
            ("user-agent".to_string(), USER_AGENT.to_string()),
        ];
        if body.is_some() {
            headers.push(("content-type".into(), "application/json".into()));
        }
        Request {
            method,
            url,
            headers,
            body,
            bucket: self.bucket.clone(),
            background: self.background,
        }
    }

    /// [`LeverApi::request`] with a body of another content type (multipart).
    pub fn request_typed(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, &str)],
        content_type: &str,
        body: Vec<u8>,
    ) -> Request {
        let mut request = self.request(method, segments, query, Some(body));
        for (name, value) in &mut request.headers {
            if name == "content-type" {
                *value = content_type.to_string();
            }
        }
        request
    }
}

/// Turns a transport failure into the connector error for `service`.
pub fn transport_error(service: Service, error: TransportError) -> ConnectorError {
    ConnectorError::Upstream {
        service,
        status: 0,
        message: error.to_string(),
    }
}

/// The wait a `Retry-After` header asks for (delta-seconds form), in milliseconds.
pub fn retry_after_ms(response: &Response) -> Option<u64> {
    response
        .header("retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|secs| secs.saturating_mul(1000))
}

/// Interprets Lever's answer to a request for a single object (`{"data": ...}`).
pub fn interpret<T: DeserializeOwned>(response: Response) -> Result<T, ConnectorError> {
    interpret_body::<Envelope<T>>(response).map(|envelope| envelope.data)
}

/// Interprets Lever's answer whose whole 2xx body is `T`.
pub fn interpret_body<T: DeserializeOwned>(response: Response) -> Result<T, ConnectorError> {
    if (200..300).contains(&response.status) {
        return serde_json::from_slice::<T>(&response.body).map_err(|e| ConnectorError::Upstream {
            service: Service::Lever,
            status: response.status,
            message: format!("unexpected response shape: {e}"),
        });
    }
    Err(interpret_error(&response))
}

/// Interprets an answer without a body of interest (`204` on delete).
pub fn interpret_empty(response: Response) -> Result<(), ConnectorError> {
    if (200..300).contains(&response.status) {
        Ok(())
    } else {
        Err(interpret_error(&response))
    }
}

/// Lever's error answer as a connector error, Lever's code and message kept.
pub fn interpret_error(response: &Response) -> ConnectorError {
    let body: Option<LeverErrorBody> = serde_json::from_slice(&response.body).ok();
    let message = body
        .map(|b| match (b.code, b.message) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code,
            (None, Some(message)) => message,
            (None, None) => "no error message".into(),
        })
        .unwrap_or_else(|| "no error message".into());
    match response.status {
        401 => ConnectorError::Unauthorized(format!(
            "Lever rejected the connection's credentials ({})",
            truncate(message, 200)
        )),
        404 => ConnectorError::NotFound(message),
        429 => ConnectorError::RateLimited {
            retry_after_ms: retry_after_ms(response),
        },
        status => ConnectorError::Upstream {
            service: Service::Lever,
            status,
            message: truncate(message, 300),
        },
    }
}

/// How many times a request is sent when Lever answers 429 or 503.
pub const MAX_ATTEMPTS: u32 = 4;
/// The longest single wait between attempts, in milliseconds.
pub const MAX_WAIT_MS: u64 = 4_000;

/// The wait before attempt `attempt + 1` (`attempt` ≥ 1): Lever's `Retry-After` when it sent
/// one, else exponential backoff from 250 ms with full jitter (`jitter` in 0..=255 scales
/// it); never more than [`MAX_WAIT_MS`].
pub fn retry_delay_ms(attempt: u32, retry_after_ms: Option<u64>, jitter: u8) -> u64 {
    let wait = match retry_after_ms {
        Some(ms) => ms,
        None => {
            let ceiling = 250u64.saturating_mul(1 << attempt.min(8));
            ceiling / 2 + ceiling / 2 * u64::from(jitter) / 255
        }
    };
    wait.min(MAX_WAIT_MS)
}

/// Sends a request to Lever; a 429 or 503 is retried (bounded, with jittered backoff or
/// Lever's `Retry-After`) before it is reported.
pub fn send(env: &Env, request: Request) -> Result<Response, ConnectorError> {
    let mut attempt = 1;
    loop {
        if let Some(bucket) = &request.bucket {
            throttle(env, bucket, request.background)?;
        }
        let response = env
            .http
            .send(request.clone())
            .map_err(|e| transport_error(Service::Lever, e))?;
        // A 503 after a POST may have created something; only a 429 (refused before any
        // work) is safe to repeat for it.
        let retryable =
            response.status == 429 || (response.status == 503 && request.method != Method::Post);
        if !retryable || attempt >= MAX_ATTEMPTS {
            return Ok(response);
        }
        let jitter = env.random.bytes(1).first().copied().unwrap_or(128);
        env.clock
            .sleep_ms(retry_delay_ms(attempt, retry_after_ms(&response), jitter));
        attempt += 1;
    }
}

/// The longest a request waits for its connection's bucket before answering `rate-limited`.
const MAX_THROTTLE_WAIT_MS: u64 = 8_000;

/// Where a connection's Lever requests are scheduled from: ticket `n` (and those before)
/// were taken when the bucket was last full, at `at`. Ticket `n + j` may go at
/// `at + (j - burst) / per_sec`: the first `burst` at once, then one per interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateBase {
    /// When the bucket was full, in Unix ms.
    pub at: UnixMillis,
    /// The last ticket taken before then.
    pub n: i64,
    /// The steady rate (requests/s) the tickets since then are spaced by: a base written
    /// under another rate (the setting changed) is replaced, not read at the new rate.
    #[serde(default)]
    pub per_sec: f64,
    /// Who wrote it (a nonce: two instances rebasing at once never write the same bytes).
    #[serde(default)]
    pub writer: String,
}

/// What a request holding ticket `ticket` does at `now`.
#[derive(Debug, Clone, PartialEq)]
pub struct Ticketed {
    /// A new base to write (compare-and-swap over the one read): none was written yet, or
    /// the bucket has been full long enough that unused allowance would pile up.
    pub rebase: Option<RateBase>,
    /// `None`: go now; else give the ticket back and wait this long (ms).
    pub wait: Option<u64>,
}

/// Decides what the holder of `ticket` does at `now` under `limit`, given the base read
/// before the ticket was taken, leaving `reserve` tokens (background work leaves room for
/// the rest). Pure.
pub fn ticket(
    base: Option<&RateBase>,
    ticket: i64,
    now: UnixMillis,
    limit: RateLimit,
    reserve: f64,
) -> Ticketed {
    let interval = 1000.0 / limit.per_sec;
    let due =
        |base: &RateBase| base.at as f64 + ((ticket - base.n) as f64 - limit.burst) * interval;
    let full = RateBase {
        at: now,
        n: ticket - 1,
        per_sec: limit.per_sec,
        writer: String::new(),
    };
    // More than a full bucket unused: start again from a full one, now. Not more often than
    // every tenth of the bucket's refill time, so a connection whose bucket is always full
    // (a light load, or a lifted limit) rewrites its base a few times a second, not on every
    // request; between two rebases unused allowance adds at most a tenth of the burst.
    let rebase_every = limit.burst * interval / 10.0;
    let (base, rebase) = match base {
        // Tickets spaced by another rate: start again from a full bucket at this one.
        Some(base) if base.per_sec != limit.per_sec => (full.clone(), Some(full)),
        Some(base)
            if due(base) < now as f64 - limit.burst * interval
                && now.saturating_sub(base.at) as f64 >= rebase_every =>
        {
            (full.clone(), Some(full))
        }
        Some(base) => (base.clone(), None),
        None => (full.clone(), Some(full)),
    };
    let reserve = reserve.clamp(0.0, (limit.burst - 1.0).max(0.0));
    let go_at = due(&base) + reserve * interval;
    let wait = (go_at > now as f64).then(|| ((go_at - now as f64).ceil() as u64).max(1));
    Ticketed { rebase, wait }
}

/// Waits for a token of the connection's bucket, shared by every instance through the
/// key-value store (a ticket counter, `atomics.increment`), so a connection stays under
/// Lever's limit however many requests run at once, and never touches another
/// connection's bucket.
fn throttle(env: &Env, connection: &str, background: bool) -> Result<(), ConnectorError> {
    let Ok(id) = crate::store::ConnectionId::parse(connection) else {
        return Ok(());
    };
    let store = crate::store::Store::new(env.kv).connection(&id);
    let limit = crate::config::lever_rate(env.config)?;
    let reserve = if background { limit.burst / 2.0 } else { 0.0 };
    let started = env.clock.now();
    loop {
        let now = env.clock.now();
        match store.take_rate_token(now, limit, reserve, env.random)? {
            None => return Ok(()),
            Some(wait) if now.saturating_sub(started) + wait > MAX_THROTTLE_WAIT_MS => {
                return Err(ConnectorError::RateLimited {
                    retry_after_ms: Some(wait),
                })
            }
            Some(wait) => env.clock.sleep_ms(wait),
        }
    }
}

/// Lever's list envelope.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page<T> {
    data: Vec<T>,
    #[serde(default)]
    has_next: Option<bool>,
    #[serde(default)]
    next: Option<String>,
}

/// The most pages an "all pages" read follows (100 items each).
pub const MAX_PAGES: usize = 100;

/// Every item of a list endpoint, following `next` while `hasNext` is true.
pub fn list_all<T: DeserializeOwned>(
    env: &Env,
    api: &LeverApi,
    segments: &[&str],
    query: &[(&str, &str)],
) -> Result<Vec<T>, ConnectorError> {
    let mut items = Vec::new();
    let mut offset: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut pairs: Vec<(&str, &str)> = query.to_vec();
        pairs.push(("limit", "100"));
        if let Some(offset) = &offset {
            pairs.push(("offset", offset));
        }
        let page: Page<T> =
            interpret_body(send(env, api.request(Method::Get, segments, &pairs, None))?)?;
        items.extend(page.data);
        match (page.has_next, page.next) {
            (Some(true), Some(next)) if !next.is_empty() => offset = Some(next),
            _ => return Ok(items),
        }
    }
    Err(ConnectorError::Upstream {
        service: Service::Lever,
        status: 200,
        message: format!("more than {MAX_PAGES} pages"),
    })
}

/// A pipeline stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stage {
    /// Its id.
    pub id: StageId,
    /// Its name.
    pub text: String,
}

impl Stage {
    /// Whether this is a lead or applicant stage (before any screen).
    pub fn is_lead_or_applicant(&self) -> bool {
        self.id.as_str().starts_with("lead-") || self.id.as_str().starts_with("applicant-")
    }
}

/// The default upload stage: the first stage in pipeline order that is not a lead or
/// applicant stage and whose name says screen or interview.
pub fn default_upload_stage(stages: &[Stage]) -> Option<&Stage> {
    stages.iter().find(|stage| {
        let text = stage.text.to_ascii_lowercase();
        !stage.is_lead_or_applicant() && (text.contains("screen") || text.contains("interview"))
    })
}

/// A Lever user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Email.
    #[serde(default)]
    pub email: String,
    /// Access role.
    #[serde(default)]
    pub access_role: String,
    /// When deactivated.
    #[serde(default)]
    pub deactivated_at: Option<UnixMillis>,
}

/// A posting, as much of it as setup shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostingSummary {
    /// Its id.
    pub id: String,
    /// Title.
    #[serde(default)]
    pub text: String,
    /// State.
    #[serde(default)]
    pub state: String,
    /// Team, location and so on.
    #[serde(default)]
    pub categories: serde_json::Value,
    /// Last update.
    #[serde(default)]
    pub updated_at: UnixMillis,
}

/// An archive reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArchiveReason {
    /// Its id.
    pub id: String,
    /// Its text.
    #[serde(default)]
    pub text: String,
    /// `hired` or `non-hired`.
    #[serde(default, rename = "type")]
    pub kind: String,
    /// `active` or `inactive`.
    #[serde(default)]
    pub status: String,
}

/// A webhook as `GET /webhooks` shows it (no signature token).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    /// Its id.
    pub id: String,
    /// The event.
    pub event: String,
    /// Where it delivers.
    pub url: String,
    /// Conditions, and (only in the answer to `POST /webhooks`) the signature token.
    #[serde(default)]
    pub configuration: WebhookConfiguration,
}

/// A webhook's configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookConfiguration {
    /// Present only when the webhook was just created.
    #[serde(default)]
    pub signature_token: Option<String>,
}

fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut cut = max;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(base: &str, credential: Credential) -> LeverApi {
        LeverApi::new(HttpUrl::parse(base).unwrap(), credential)
    }

    #[test]
    fn api_key_is_sent_as_basic_auth_with_an_empty_password() {
        let request = api(
            "https://api.lever.co/v1",
            Credential::ApiKey(Secret::new("KEY")),
        )
        .get_opportunity(&OpportunityId("abc".into()));
        // base64("KEY:")
        assert_eq!(request.header("authorization"), Some("Basic S0VZOg=="));
        assert_eq!(
            request.url.to_string(),
            "https://api.lever.co/v1/opportunities/abc"
        );
    }

    #[test]
    fn path_segments_are_percent_encoded_and_a_trailing_slash_is_tolerated() {
        let request = api(
            "http://127.0.0.1:9/v1/",
            Credential::Bearer(Secret::new("t")),
        )
        .get_opportunity(&OpportunityId("a/b?c".into()));
        assert_eq!(
            request.url.to_string(),
            "http://127.0.0.1:9/v1/opportunities/a%2Fb%3Fc"
        );
        assert_eq!(request.header("authorization"), Some("Bearer t"));
    }

    #[test]
    fn query_values_are_encoded() {
        let request = api(
            "https://api.lever.co/v1",
            Credential::Bearer(Secret::new("t")),
        )
        .request(
            Method::Get,
            &["opportunities"],
            &[("email", "a+b@example.com"), ("perform_as", "u 1")],
            None,
        );
        assert_eq!(
            request.url.query(),
            Some("email=a%2Bb%40example.com&perform_as=u+1")
        );
    }

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
        Response {
            status,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn a_recorded_opportunity_parses_and_names_its_current_stage_entry() {
        let fixture = include_str!("../../../tests/fixtures/lever/api/opportunity.json");
        let opportunity: Opportunity = interpret(response(200, &[], fixture)).unwrap();
        assert_eq!(opportunity.stage.as_str(), "9f1c2a22-onsite");
        let (entry, previous) = opportunity.current_stage_entry();
        assert_eq!(entry.unwrap().updated_at, 1763942401000);
        assert_eq!(previous.unwrap().as_str(), "9f1c2a21-phone");
    }

    /// Takes tickets in turn from `base` at `now` as the store would (a ticket whose wait
    /// is not `None` is given back); answers the waits and the base after.
    fn take(
        mut base: Option<RateBase>,
        next: &mut i64,
        now: UnixMillis,
        limit: RateLimit,
        reserve: f64,
    ) -> (Option<u64>, Option<RateBase>) {
        *next += 1;
        let t = ticket(base.as_ref(), *next, now, limit, reserve);
        if let Some(rebased) = t.rebase {
            base = Some(rebased);
        }
        if t.wait.is_some() {
            *next -= 1;
        }
        (t.wait, base)
    }

    #[test]
    fn the_ticket_clock_allows_a_burst_then_the_steady_rate() {
        let limit = RateLimit::per_second(10.0);
        assert_eq!(limit.burst, 16.0);
        let (mut base, mut next) = (None, 0);
        for _ in 0..16 {
            let (wait, after) = take(base, &mut next, 1_000, limit, 0.0);
            assert_eq!(wait, None);
            base = after;
        }
        let (wait, after) = take(base, &mut next, 1_000, limit, 0.0);
        assert_eq!(wait, Some(100), "1/10 s for the next token");
        let (wait, after) = take(after, &mut next, 1_100, limit, 0.0);
        assert_eq!(wait, None);
        // Idle time refills, up to the burst: 16 at once again, not 600.
        let mut base = after;
        for _ in 0..16 {
            let (wait, after) = take(base, &mut next, 60_000, limit, 0.0);
            assert_eq!(wait, None);
            base = after;
        }
        assert_eq!(base.as_ref().unwrap().at, 60_000, "rebased once idle");
        assert!(take(base, &mut next, 60_000, limit, 0.0).0.is_some());
    }

    #[test]
    fn an_always_full_bucket_is_rebased_a_few_times_a_second_and_bursts_stay_near_the_limit() {
        let limit = RateLimit::per_second(100.0);
        let (mut base, mut next) = (None, 0);
        let mut rebases = 0;
        // Half the rate: one request every 20 ms for 10 s, the bucket always full.
        for step in 0..500u64 {
            next += 1;
            let t = ticket(base.as_ref(), next, 1_000 + step * 20, limit, 0.0);
            assert_eq!(t.wait, None);
            if let Some(rebased) = t.rebase {
                base = Some(rebased);
                rebases += 1;
            }
        }
        // Once per 160 ms at most (a tenth of 1.6 s), against 500 requests.
        assert!(rebases <= 10_000 / 160 + 1, "{rebases}");
        // Whatever the last rebase, a burst now finds at most 1.1 × the bucket.
        let mut burst = 0;
        loop {
            next += 1;
            let t = ticket(base.as_ref(), next, 11_000, limit, 0.0);
            if let Some(rebased) = t.rebase {
                base = Some(rebased);
            }
            if t.wait.is_some() {
                break;
            }
            burst += 1;
        }
        assert!(f64::from(burst) <= limit.burst * 1.1 + 1.0, "{burst}");
        assert!(f64::from(burst) >= limit.burst - 1.0, "{burst}");
    }

    #[test]
    fn a_changed_rate_starts_from_a_full_bucket_instead_of_reading_old_tickets_at_the_new_rate() {
        // A thousand tickets taken in a second at a lifted limit...
        let fast = RateLimit::per_second(1_000_000.0);
        let (mut base, mut next) = (None, 0);
        for _ in 0..1_000 {
            let (wait, after) = take(base, &mut next, 1_000, fast, 0.0);
            assert_eq!(wait, None);
            base = after;
        }
        // ...then the setting goes back to Lever's rate: the next request goes at once,
        // and the bucket is the new rate's.
        let slow = RateLimit::per_second(10.0);
        let (wait, after) = take(base, &mut next, 1_100, slow, 0.0);
        assert_eq!(wait, None);
        assert_eq!(after.as_ref().unwrap().per_sec, 10.0);
        let mut base = after;
        let mut burst = 1;
        loop {
            let (wait, after) = take(base, &mut next, 1_100, slow, 0.0);
            base = after;
            if wait.is_some() {
                break;
            }
            burst += 1;
        }
        assert_eq!(f64::from(burst), slow.burst);
    }

    #[test]
    fn background_work_leaves_half_the_bucket_to_deliveries() {
        let limit = RateLimit::per_second(10.0);
        let reserve = limit.burst / 2.0;
        let (mut base, mut next) = (None, 0);
        let mut background = 0;
        loop {
            let (wait, after) = take(base, &mut next, 1_000, limit, reserve);
            base = after;
            if wait.is_some() {
                break;
            }
            background += 1;
        }
        assert_eq!(background, 8, "background takes the upper half of 16");
        // Deliveries still find the lower half at once.
        for _ in 0..8 {
            let (wait, after) = take(base, &mut next, 1_000, limit, 0.0);
            assert_eq!(wait, None);
            base = after;
        }
        assert!(take(base.clone(), &mut next, 1_000, limit, 0.0).0.is_some());
        // Background waits for the bucket to refill above the reserve: 0.9 s at 10/s.
        assert_eq!(take(base, &mut next, 1_000, limit, reserve).0, Some(900));
    }

    #[test]
    fn the_rate_is_configurable_and_defaults_under_levers_limit() {
        use crate::io::fake::FakeConfig;
        let default = crate::config::lever_rate(&FakeConfig::from_pairs(&[])).unwrap();
        assert_eq!(default.per_sec, 9.5);
        assert!(default.burst < 20.0, "under Lever's burst of 20");
        let raised =
            crate::config::lever_rate(&FakeConfig::from_pairs(&[("lever_rate_per_sec", "50")]))
                .unwrap();
        assert_eq!(raised.per_sec, 50.0);
        for bad in ["0", "-1", "fast", "NaN"] {
            assert!(crate::config::lever_rate(&FakeConfig::from_pairs(&[(
                "lever_rate_per_sec",
                bad
            )]))
            .is_err());
        }
    }

    #[test]
    fn retries_wait_as_lever_asks_or_back_off_with_jitter_within_bounds() {
        assert_eq!(retry_delay_ms(1, Some(2_000), 0), 2_000);
        assert_eq!(retry_delay_ms(1, Some(60_000), 0), MAX_WAIT_MS);
        assert_eq!(retry_delay_ms(1, None, 0), 250);
        assert_eq!(retry_delay_ms(1, None, 255), 500);
        assert!(retry_delay_ms(2, None, 0) < retry_delay_ms(3, None, 0));
        assert_eq!(retry_delay_ms(30, None, 255), MAX_WAIT_MS);
    }

    #[test]
    fn a_429_is_retried_and_a_lasting_one_reported() {
        use crate::io::fake::{FakeConfig, World};
        let world = World::new(FakeConfig::default(), 0);
        let api = api("http://lever.test/v1", Credential::Bearer(Secret::new("t")));
        world
            .http
            .respond_with_headers(429, &[("retry-after", "1")], "{}");
        world.http.respond(200, r#"{"data":[]}"#);
        let response = send(
            &world.env(),
            api.request(Method::Get, &["stages"], &[], None),
        )
        .unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(world.clock.0.get(), 1_000, "waited as Lever asked");
        for _ in 0..MAX_ATTEMPTS {
            world.http.respond(429, "{}");
        }
        let response = send(
            &world.env(),
            api.request(Method::Get, &["stages"], &[], None),
        )
        .unwrap();
        assert_eq!(response.status, 429);
        assert_eq!(world.http.sent.borrow().len(), 2 + MAX_ATTEMPTS as usize);
    }

    #[test]
    fn lever_errors_become_typed_errors() {
        let not_found = interpret::<Opportunity>(response(
            404,
            &[],
            r#"{"code":"ResourceNotFound","message":"Opportunity not found"}"#,
        ));
        assert_eq!(
            not_found.unwrap_err(),
            ConnectorError::NotFound("ResourceNotFound: Opportunity not found".into())
        );
        let limited = interpret::<Opportunity>(response(429, &[("Retry-After", "2")], "{}"));
        assert_eq!(
            limited.unwrap_err(),
            ConnectorError::RateLimited {
                retry_after_ms: Some(2000)
            }
        );
        let limited = interpret::<Opportunity>(response(429, &[], "{}"));
        assert_eq!(
            limited.unwrap_err(),
            ConnectorError::RateLimited {
                retry_after_ms: None
            }
        );
        let down = interpret::<Opportunity>(response(503, &[], "<html>maintenance</html>"));
        assert!(matches!(
            down.unwrap_err(),
            ConnectorError::Upstream { status: 503, .. }
        ));
    }
}
