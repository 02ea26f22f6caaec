//! The few typed results the host prints itself, in the one wire contract: each WIT value
//! is turned back into the component's own domain type, whose serde shape is the JSON the
//! HTTP face answers. (Every operation on a connection answers its JSON through
//! `operations.invoke` instead: see [`crate::call`].)

use lever_plugin::error::{ConnectorError as Wire, Service};
use lever_plugin::store::{ConnectionId, DeliveryState};
use lever_plugin::sync::stage::{Forwarded, Outcome, Receipt, SkipReason};

use crate::runtime::bindings::exports::lever::connector::{setup, types, webhooks};

/// A connector error in the wire shape.
pub fn error(error: &types::ConnectorError) -> Wire {
    use types::ConnectorError as E;
    match error.clone() {
        E::InvalidInput(m) => Wire::InvalidInput(m),
        E::Unauthorized(m) => Wire::Unauthorized(m),
        E::NotFound(m) => Wire::NotFound(m),
        E::Conflict(m) => Wire::Conflict(m),
        E::TooLarge(limit) => Wire::TooLarge(limit),
        E::RateLimited(r) => Wire::RateLimited {
            retry_after_ms: r.retry_after_ms,
        },
        E::Upstream(u) => Wire::Upstream {
            service: match u.service {
                types::Service::Lever => Service::Lever,
                types::Service::Partner => Service::Partner,
            },
            status: u.status,
            message: u.message,
        },
        E::NotConfigured(k) => Wire::NotConfigured(k),
        E::Unsupported(m) => Wire::Unsupported(m),
        E::Internal(m) => Wire::Internal(m),
    }
}

/// A connector error as the dynamic call API shows it.
pub fn error_from_val(value: &wasmtime::component::Val) -> anyhow::Result<types::ConnectorError> {
    use types::ConnectorError as E;
    use wasmtime::component::Val;
    let Val::Variant(case, payload) = value else {
        anyhow::bail!("not a connector error: {value:?}");
    };
    let payload = payload.as_deref();
    let text = || match payload {
        Some(Val::String(text)) => Ok(text.clone()),
        other => Err(anyhow::anyhow!("connector error {case} carries {other:?}")),
    };
    let field = |name: &str| match payload {
        Some(Val::Record(fields)) => fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| anyhow::anyhow!("connector error {case} has no {name}")),
        other => Err(anyhow::anyhow!("connector error {case} carries {other:?}")),
    };
    Ok(match case.as_str() {
        "invalid-input" => E::InvalidInput(text()?),
        "unauthorized" => E::Unauthorized(text()?),
        "not-found" => E::NotFound(text()?),
        "conflict" => E::Conflict(text()?),
        "not-configured" => E::NotConfigured(text()?),
        "unsupported" => E::Unsupported(text()?),
        "internal" => E::Internal(text()?),
        "too-large" => match payload {
            Some(Val::U64(limit)) => E::TooLarge(*limit),
            other => anyhow::bail!("too-large carries {other:?}"),
        },
        "rate-limited" => E::RateLimited(types::RateLimit {
            retry_after_ms: match field("retry-after-ms")? {
                Val::Option(Some(ms)) => match *ms {
                    Val::U64(ms) => Some(ms),
                    other => anyhow::bail!("retry-after-ms is {other:?}"),
                },
                _ => None,
            },
        }),
        "upstream" => E::Upstream(types::UpstreamError {
            service: match field("service")? {
                Val::Enum(name) if name == "partner" => types::Service::Partner,
                _ => types::Service::Lever,
            },
            status: match field("status")? {
                Val::U16(status) => status,
                other => anyhow::bail!("status is {other:?}"),
            },
            message: match field("message")? {
                Val::String(message) => message,
                other => anyhow::bail!("message is {other:?}"),
            },
        }),
        other => anyhow::bail!("unknown connector error case {other}"),
    })
}

fn connection(id: &str) -> anyhow::Result<ConnectionId> {
    ConnectionId::parse(id)
        .map_err(|e| anyhow::anyhow!("the component answered a bad connection id: {e}"))
}

/// The partner event type's constant (the wire type keeps `&'static str`).
fn event_type(kind: &str) -> &'static str {
    use lever_plugin::partner::{
        ARCHIVED, DELETED, HIRED, INTERVIEW_CANCELLED, INTERVIEW_SCHEDULED, INTERVIEW_UPDATED,
        STAGE_CHANGED, UNARCHIVED,
    };
    [
        STAGE_CHANGED,
        ARCHIVED,
        UNARCHIVED,
        HIRED,
        DELETED,
        INTERVIEW_SCHEDULED,
        INTERVIEW_UPDATED,
        INTERVIEW_CANCELLED,
    ]
    .into_iter()
    .find(|k| *k == kind)
    .unwrap_or("unknown")
}

/// A delivery state in the wire shape.
pub fn delivery_state(state: webhooks::DeliveryState) -> DeliveryState {
    match state {
        webhooks::DeliveryState::Processing => DeliveryState::Processing,
        webhooks::DeliveryState::Forwarded => DeliveryState::Forwarded,
        webhooks::DeliveryState::Ignored => DeliveryState::Ignored,
        webhooks::DeliveryState::Skipped => DeliveryState::Skipped,
        webhooks::DeliveryState::Queued => DeliveryState::Queued,
        webhooks::DeliveryState::DeadLettered => DeliveryState::DeadLettered,
    }
}

/// A webhook receipt in the wire shape.
pub fn receipt(receipt: webhooks::WebhookReceipt) -> anyhow::Result<Receipt> {
    use webhooks::WebhookOutcome as O;
    let outcome = match receipt.outcome {
        O::Forwarded(f) => Outcome::Forwarded(Forwarded {
            webhook_id: f.webhook_id,
            event_type: event_type(&f.event_type),
            opportunity_id: f.opportunity_id,
            partner_candidate_id: f.partner_candidate_id,
            lever_stage_id: f.lever_stage_id,
            partner_stage: f.partner_stage,
        }),
        O::Duplicate(state) => Outcome::Duplicate(delivery_state(state)),
        O::Queued(q) => Outcome::Queued(lever_plugin::outbox::Queued {
            attempts: q.attempts,
            next_attempt_at: q.next_attempt_at,
            last_error: q.last_error,
            dead_lettered: q.dead_lettered,
        }),
        O::Ignored(event) => Outcome::Ignored(event),
        O::Skipped(reason) => Outcome::Skipped(match reason {
            webhooks::SkipReason::OpportunityNotInLever(opportunity_id) => {
                SkipReason::OpportunityNotInLever { opportunity_id }
            }
            webhooks::SkipReason::NotLinked(opportunity_id) => {
                SkipReason::NotLinked { opportunity_id }
            }
            webhooks::SkipReason::StageNotMapped(stage_id) => {
                SkipReason::StageNotMapped { stage_id }
            }
            webhooks::SkipReason::AlreadyReported(state) => SkipReason::AlreadyReported { state },
            webhooks::SkipReason::NotHired(opportunity_id) => {
                SkipReason::NotHired { opportunity_id }
            }
            webhooks::SkipReason::StillInLever(opportunity_id) => {
                SkipReason::StillInLever { opportunity_id }
            }
            webhooks::SkipReason::Ping => SkipReason::Ping,
            webhooks::SkipReason::InterviewNotConfirmed(interview_id) => {
                SkipReason::InterviewNotConfirmed { interview_id }
            }
        }),
    };
    Ok(Receipt {
        connection_id: connection(&receipt.connection)?,
        event: receipt.event,
        token: receipt.token,
        outcome,
    })
}

/// A finished OAuth round trip.
pub fn connected(c: setup::OauthConnected) -> anyhow::Result<lever_plugin::auth::Connected> {
    Ok(lever_plugin::auth::Connected {
        connection: connection(&c.connection)?,
        account_id: c.account_id,
        expires_at: c.expires_at,
        missing_scopes: c
            .missing_scopes
            .into_iter()
            .map(|m| lever_plugin::auth::MissingScope {
                scope: m.scope,
                needed_for: m.needed_for,
            })
            .collect(),
    })
}
