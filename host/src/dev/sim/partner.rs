//! A partner platform simulator: receives the connector's callbacks, verifies their
//! Standard Webhooks signatures (5-minute tolerance), records everything it received, and
//! can be told to fail the next deliveries.

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use tokio::sync::broadcast;

use crate::http_util::{now_ms, SimRequest, SimResponse};
use crate::signing::verify_standard_webhook;

/// The secret the partner simulator uses unless told otherwise.
pub const DEFAULT_SECRET: &str = "whsec_c2ltLXBhcnRuZXItc2VjcmV0LWtleS0wMDAx";

/// The credential the simulated partner presents on `/connections/...` routes.
pub const DEFAULT_API_KEY: &str = "sim-partner-api-key";

/// The tolerance for `webhook-timestamp`, seconds.
pub const TOLERANCE_SECS: u64 = 300;

/// One callback the partner received.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceivedEvent {
    /// The path it was POSTed to.
    pub path: String,
    /// `webhook-id`.
    pub webhook_id: Option<String>,
    /// `webhook-timestamp`.
    pub timestamp: Option<String>,
    /// Whether the signature verified.
    pub verified: bool,
    /// Why it was rejected, when it was.
    pub rejection: Option<String>,
    /// The status the simulator answered.
    pub answered: u16,
    /// The body, parsed (`Null` when not JSON).
    pub body: Value,
}

#[derive(Debug, Default)]
struct State {
    received: Vec<ReceivedEvent>,
    fail_next: Vec<u16>,
    slow_next: Vec<std::time::Duration>,
}

/// The partner simulator. Cheap to clone.
#[derive(Clone, Debug)]
pub struct PartnerSim {
    secret: Arc<String>,
    state: Arc<Mutex<State>>,
    events: broadcast::Sender<ReceivedEvent>,
    faults: crate::sim::faults::Faults,
}

impl PartnerSim {
    /// A partner that verifies with `secret` (`whsec_...`).
    pub fn new(secret: &str) -> Self {
        let (events, _) = broadcast::channel(256);
        Self {
            secret: Arc::new(secret.to_string()),
            state: Arc::new(Mutex::new(State::default())),
            events,
            faults: crate::sim::faults::Faults::default(),
        }
    }

    /// The fault plan for callbacks (off until set).
    pub fn faults(&self) -> &crate::sim::faults::Faults {
        &self.faults
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<ReceivedEvent> {
        self.state().received.clone()
    }

    /// Receives each callback as it arrives.
    pub fn subscribe(&self) -> broadcast::Receiver<ReceivedEvent> {
        self.events.subscribe()
    }

    /// Answers the next `count` callbacks with `status` (after verifying them).
    pub fn fail_next(&self, count: usize, status: u16) {
        self.state()
            .fail_next
            .extend(std::iter::repeat_n(status, count));
    }

    /// Answers the next `count` callbacks only after `delay` (a partner that hangs).
    pub fn slow_next(&self, count: usize, delay: std::time::Duration) {
        self.state()
            .slow_next
            .extend(std::iter::repeat_n(delay, count));
    }

    /// Handles one request.
    pub async fn handle(&self, request: SimRequest) -> SimResponse {
        match (request.method.as_str(), request.path.as_str()) {
            ("GET", "/_sim/events") => SimResponse::json(200, json!({ "data": self.received() })),
            ("POST", "/_sim/fail-next") => {
                let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
                let count = body["count"].as_u64().unwrap_or(1) as usize;
                let status = body["status"]
                    .as_u64()
                    .and_then(|s| u16::try_from(s).ok())
                    .unwrap_or(503);
                self.fail_next(count, status);
                SimResponse::empty(204)
            }
            ("POST", path) if !path.starts_with("/_sim") => {
                let fault = self.faults.pick();
                if let Some(answer) = fault.and_then(SimResponse::for_fault) {
                    return answer;
                }
                let response = self.receive(request);
                if let Some(crate::sim::faults::Fault::Slow(delay)) = fault {
                    tokio::time::sleep(delay).await;
                }
                let delay = {
                    let mut state = self.state();
                    (!state.slow_next.is_empty()).then(|| state.slow_next.remove(0))
                };
                if let Some(delay) = delay {
                    tokio::time::sleep(delay).await;
                }
                response
            }
            _ => SimResponse::json(404, json!({ "error": "not found" })),
        }
    }

    fn receive(&self, request: SimRequest) -> SimResponse {
        let header = |name: &str| request.headers.get(name).map(String::as_str);
        let verdict = verify_standard_webhook(
            &self.secret,
            header("webhook-id"),
            header("webhook-timestamp"),
            header("webhook-signature"),
            &request.body,
            now_ms() / 1000,
            TOLERANCE_SECS,
        );
        let mut state = self.state();
        let answered = match &verdict {
            Err(_) => 401,
            Ok(()) if !state.fail_next.is_empty() => state.fail_next.remove(0),
            Ok(()) => 204,
        };
        let event = ReceivedEvent {
            path: request.path.clone(),
            webhook_id: header("webhook-id").map(String::from),
            timestamp: header("webhook-timestamp").map(String::from),
            verified: verdict.is_ok(),
            rejection: verdict.as_ref().err().map(ToString::to_string),
            answered,
            body: serde_json::from_slice(&request.body).unwrap_or(Value::Null),
        };
        state.received.push(event.clone());
        drop(state);
        let _ = self.events.send(event);
        match verdict {
            Ok(()) if answered == 204 => SimResponse::empty(204),
            Ok(()) => SimResponse::json(answered, json!({ "error": "injected failure" })),
            Err(rejection) => SimResponse::json(401, json!({ "error": rejection.to_string() })),
        }
    }
}
