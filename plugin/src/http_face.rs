//! The HTTP face: routes, and the one mapping of results to status codes and JSON bodies.
//! The WASI adapter reads the request and writes the reply; everything else is here.

use serde_json::json;

use crate::error::ConnectorError;
use crate::io::Env;
use crate::lever::webhook::MAX_BODY_BYTES;
use crate::sync::stage::{self, Outcome, Receipt};

/// A route of the HTTP face.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `POST /webhooks/lever`: a Lever webhook delivery.
    LeverWebhook,
    /// `GET /health`: liveness.
    Health,
}

impl Route {
    /// The largest body the route accepts, in bytes.
    pub fn max_body_bytes(self) -> usize {
        match self {
            Route::LeverWebhook => MAX_BODY_BYTES,
            Route::Health => 0,
        }
    }
}

/// An HTTP reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Headers besides `content-type: application/json`.
    pub headers: Vec<(String, String)>,
    /// JSON body.
    pub body: Vec<u8>,
}

impl Reply {
    fn json(status: u16, value: &serde_json::Value) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: value.to_string().into_bytes(),
        }
    }
}

/// Finds the route for a method and path (query ignored); 404 or 405 otherwise.
pub fn route(method: &str, path_with_query: &str) -> Result<Route, Reply> {
    let path = path_with_query
        .split_once('?')
        .map_or(path_with_query, |(path, _)| path);
    let path = path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    let (route, allowed) = match path {
        "/webhooks/lever" => (Route::LeverWebhook, "POST"),
        "/health" => (Route::Health, "GET"),
        _ => {
            return Err(Reply::json(
                404,
                &json!({ "error": { "code": "not-found", "message": format!("no route for {path}") } }),
            ))
        }
    };
    if method != allowed {
        let mut reply = Reply::json(
            405,
            &json!({ "error": { "code": "method-not-allowed", "message": format!("{path} accepts {allowed} only") } }),
        );
        reply.headers.push(("allow".into(), allowed.into()));
        return Err(reply);
    }
    Ok(route)
}

/// Handles a routed request whose body was read (within the route's limit).
pub fn respond(env: &Env, route: Route, body: &[u8]) -> Reply {
    match route {
        Route::Health => Reply::json(200, &json!({ "status": "ok" })),
        Route::LeverWebhook => match stage::handle_lever_webhook(env, body) {
            Ok(receipt) => Reply::json(200, &receipt_json(&receipt)),
            Err(error) => error_reply(&error),
        },
    }
}

/// The reply for an error: its status, its JSON body, and `Retry-After` when known.
pub fn error_reply(error: &ConnectorError) -> Reply {
    let mut reply = Reply::json(error.http_status(), &error.to_json());
    if let ConnectorError::RateLimited {
        retry_after_ms: Some(ms),
    } = error
    {
        reply
            .headers
            .push(("retry-after".into(), ms.div_ceil(1000).to_string()));
    }
    reply
}

/// The JSON body of a handled delivery: `{"forwarded": {...}}`, `{"duplicate": token}`,
/// `{"ignored": event}` or `{"skipped": reason}`.
pub fn receipt_json(receipt: &Receipt) -> serde_json::Value {
    match &receipt.outcome {
        Outcome::Forwarded(f) => json!({ "forwarded": {
            "webhookId": f.webhook_id,
            "eventType": f.event_type,
            "opportunityId": f.opportunity_id,
            "partnerCandidateId": f.partner_candidate_id,
            "leverStageId": f.lever_stage_id,
            "partnerStage": f.partner_stage,
        } }),
        Outcome::Duplicate => json!({ "duplicate": receipt.token }),
        Outcome::Ignored(event) => json!({ "ignored": event }),
        Outcome::Skipped(reason) => json!({ "skipped": reason }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_method_and_path() {
        assert_eq!(route("POST", "/webhooks/lever"), Ok(Route::LeverWebhook));
        assert_eq!(
            route("POST", "/webhooks/lever/?x=1"),
            Ok(Route::LeverWebhook)
        );
        assert_eq!(route("GET", "/health"), Ok(Route::Health));
        assert_eq!(route("GET", "/webhooks/lever").unwrap_err().status, 405);
        assert_eq!(route("POST", "/nope").unwrap_err().status, 404);
    }

    #[test]
    fn rate_limits_carry_retry_after_in_seconds() {
        let reply = error_reply(&ConnectorError::RateLimited {
            retry_after_ms: Some(1500),
        });
        assert_eq!(reply.status, 429);
        assert_eq!(reply.headers, vec![("retry-after".into(), "2".into())]);
    }

    #[test]
    fn ignored_events_answer_with_the_event_name() {
        let receipt = Receipt {
            event: "candidateTeleported".into(),
            token: "t".into(),
            outcome: Outcome::Ignored("candidateTeleported".into()),
        };
        assert_eq!(
            receipt_json(&receipt),
            json!({ "ignored": "candidateTeleported" })
        );
    }
}
