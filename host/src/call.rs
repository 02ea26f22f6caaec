//! `lever-host call`: invoke one typed export (the embedder's view) with plain arguments
//! and print its result as JSON.

use serde_json::{json, Value};

use crate::runtime::bindings::exports::lever::connector::{setup, webhooks};
use crate::server::{Connector, ConnectorError};

/// The functions `call` can invoke, with their arguments.
pub const USAGE: &str = "\
get-status
link-candidate <partner-candidate-id> <opportunity-id>
get-linked-candidate <opportunity-id>
get-stage-map
set-stage-map '<JSON object of Lever stage id to partner stage>'
handle-lever-webhook <file with the raw delivery body>";

/// The JSON form of a connector error: `{"error": {"code", "message", ...}}`.
pub fn error_json(error: &ConnectorError) -> Value {
    let (code, detail) = match error {
        ConnectorError::InvalidInput(m) => ("invalid-input", json!({ "message": m })),
        ConnectorError::Unauthorized(m) => ("unauthorized", json!({ "message": m })),
        ConnectorError::NotFound(m) => ("not-found", json!({ "message": m })),
        ConnectorError::Conflict(m) => ("conflict", json!({ "message": m })),
        ConnectorError::TooLarge(limit) => ("too-large", json!({ "limitBytes": limit })),
        ConnectorError::RateLimited(r) => {
            ("rate-limited", json!({ "retryAfterMs": r.retry_after_ms }))
        }
        ConnectorError::Upstream(u) => (
            "upstream",
            json!({ "service": u.service, "status": u.status, "message": u.message }),
        ),
        ConnectorError::NotConfigured(key) => ("not-configured", json!({ "key": key })),
        ConnectorError::Internal(m) => ("internal", json!({ "message": m })),
    };
    let mut body = detail;
    body["code"] = json!(code);
    json!({ "error": body })
}

fn receipt_json(receipt: &webhooks::WebhookReceipt) -> Value {
    let outcome = match &receipt.outcome {
        webhooks::WebhookOutcome::Forwarded(f) => json!({ "forwarded": {
            "webhookId": f.webhook_id,
            "eventType": f.event_type,
            "opportunityId": f.opportunity_id,
            "partnerCandidateId": f.partner_candidate_id,
            "leverStageId": f.lever_stage_id,
            "partnerStage": f.partner_stage,
        } }),
        webhooks::WebhookOutcome::Duplicate => json!("duplicate"),
        webhooks::WebhookOutcome::Ignored(event) => json!({ "ignored": event }),
        webhooks::WebhookOutcome::Skipped(reason) => json!({ "skipped": reason }),
    };
    json!({ "event": receipt.event, "token": receipt.token, "outcome": outcome })
}

fn arg<'a>(args: &'a [String], index: usize, name: &str) -> anyhow::Result<&'a str> {
    args.get(index)
        .map(String::as_str)
        .ok_or_else(|| anyhow::anyhow!("missing argument <{name}>\n\nfunctions:\n{USAGE}"))
}

/// Calls `function` with `args`. `Ok(Ok(json))` on success, `Ok(Err(json))` when the
/// component answered with a connector error, `Err` for a bad command line or a host fault.
pub async fn run(
    connector: &Connector,
    function: &str,
    args: &[String],
) -> anyhow::Result<Result<Value, Value>> {
    let result = match function {
        "get-status" => connector.status().await?.map(|s| {
            json!({
                "auth": s.auth,
                "performAs": s.perform_as,
                "missingConfig": s.missing_config,
                "mappedStages": s.mapped_stages,
            })
        }),
        "link-candidate" => connector
            .link_candidate(
                arg(args, 0, "partner-candidate-id")?,
                arg(args, 1, "opportunity-id")?,
            )
            .await?
            .map(|()| json!({ "linked": true })),
        "get-linked-candidate" => connector
            .get_linked_candidate(arg(args, 0, "opportunity-id")?)
            .await?
            .map(|id| json!({ "partnerCandidateId": id })),
        "get-stage-map" => connector.get_stage_map().await?.map(|mappings| {
            Value::Object(
                mappings
                    .into_iter()
                    .map(|m| (m.lever_stage_id, json!(m.partner_stage)))
                    .collect(),
            )
        }),
        "set-stage-map" => {
            let map: serde_json::Map<String, Value> =
                serde_json::from_str(arg(args, 0, "json")?)
                    .map_err(|e| anyhow::anyhow!("set-stage-map takes a JSON object: {e}"))?;
            let mappings = map
                .into_iter()
                .map(|(lever_stage_id, partner)| {
                    let partner_stage = partner
                        .as_str()
                        .ok_or_else(|| anyhow::anyhow!("stage map values must be strings"))?
                        .to_string();
                    Ok(setup::StageMapping {
                        lever_stage_id,
                        partner_stage,
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            connector
                .set_stage_map(&mappings)
                .await?
                .map(|()| json!({ "mappedStages": mappings.len() }))
        }
        "handle-lever-webhook" => {
            let path = arg(args, 0, "file")?;
            let body = std::fs::read(path).map_err(|e| anyhow::anyhow!("reading {path}: {e}"))?;
            connector
                .handle_lever_webhook(&body)
                .await?
                .map(|receipt| receipt_json(&receipt))
        }
        other => anyhow::bail!("unknown function {other:?}\n\nfunctions:\n{USAGE}"),
    };
    Ok(result.map_err(|e| error_json(&e)))
}
