//! The typed face's results in the one wire contract: each WIT value is turned back into
//! the component's own domain type, whose serde shape is the JSON the HTTP face answers.
//! So `lever-host call`, the host's own errors and the HTTP face print the same JSON.

use lever_plugin::error::{ConnectorError as Wire, Service};
use lever_plugin::lever::{Stage, StageId, User, UserId};
use lever_plugin::setup::status::{self, AuthKind, MappedStage, UploadStage, WebhookState};
use lever_plugin::setup::webhooks::{InstallReport, InstalledReport};
use lever_plugin::setup::{Disconnected, RoleLink};
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

fn connection(id: &str) -> anyhow::Result<ConnectionId> {
    ConnectionId::parse(id)
        .map_err(|e| anyhow::anyhow!("the component answered a bad connection id: {e}"))
}

/// The partner event type's constant (the wire type keeps `&'static str`).
fn event_type(kind: &str) -> &'static str {
    use lever_plugin::partner::{ARCHIVED, DELETED, HIRED, STAGE_CHANGED, UNARCHIVED};
    [STAGE_CHANGED, ARCHIVED, UNARCHIVED, HIRED, DELETED]
        .into_iter()
        .find(|k| *k == kind)
        .unwrap_or("unknown")
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
        O::Duplicate(state) => Outcome::Duplicate(match state {
            webhooks::DeliveryState::Processing => DeliveryState::Processing,
            webhooks::DeliveryState::Forwarded => DeliveryState::Forwarded,
            webhooks::DeliveryState::Ignored => DeliveryState::Ignored,
            webhooks::DeliveryState::Skipped => DeliveryState::Skipped,
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
        }),
    };
    Ok(Receipt {
        connection_id: connection(&receipt.connection)?,
        event: receipt.event,
        token: receipt.token,
        outcome,
    })
}

/// A Lever stage.
pub fn stage(stage: types::Stage) -> Stage {
    Stage {
        id: StageId(stage.id),
        text: stage.text,
    }
}

/// A Lever user.
pub fn user(user: types::User) -> User {
    User {
        id: UserId(user.id),
        name: user.name,
        email: user.email,
        access_role: user.access_role,
        deactivated_at: user.deactivated_at,
    }
}

/// A role link.
pub fn role(role: setup::RoleLink) -> RoleLink {
    RoleLink {
        role: role.role,
        posting_id: role.posting_id,
    }
}

fn missing_scope(m: setup::MissingScope) -> lever_plugin::auth::MissingScope {
    lever_plugin::auth::MissingScope {
        scope: m.scope,
        needed_for: m.needed_for,
    }
}

/// A connection's status.
pub fn status(s: setup::ConnectionStatus) -> anyhow::Result<status::ConnectionStatus> {
    Ok(status::ConnectionStatus {
        connection: connection(&s.connection)?,
        auth: match s.auth {
            setup::AuthKind::None => AuthKind::None,
            setup::AuthKind::ApiKey => AuthKind::ApiKey,
            setup::AuthKind::Oauth => AuthKind::Oauth,
        },
        reconnect_needed: s.reconnect_needed,
        token_expires_at: s.token_expires_at,
        account_id: s.account_id,
        missing_scopes: s.missing_scopes.into_iter().map(missing_scope).collect(),
        perform_as: s.perform_as,
        roles: s.roles.into_iter().map(role).collect(),
        mapped_stages: s
            .mapped_stages
            .into_iter()
            .map(|m| MappedStage {
                lever_stage_id: m.lever_stage_id,
                text: m.text,
                partner_stage: m.partner_stage,
            })
            .collect(),
        unmapped_stages: s.unmapped_stages.into_iter().map(stage).collect(),
        upload_stage: s.upload_stage.map(|u| UploadStage {
            stage_id: u.stage_id,
            text: u.text,
            source: match u.source {
                setup::UploadStageSource::Chosen => "configured",
                setup::UploadStageSource::DefaultRule => "default",
            },
        }),
        webhooks: s
            .webhooks
            .into_iter()
            .map(|w| status::WebhookStatus {
                event: w.event,
                id: w.id,
                url: w.url,
                state: match w.state {
                    setup::WebhookState::Missing => WebhookState::Missing,
                    setup::WebhookState::AwaitingEnablement => WebhookState::AwaitingEnablement,
                    setup::WebhookState::Receiving => WebhookState::Receiving,
                },
                last_delivery_at: w.last_delivery_at,
            })
            .collect(),
        missing: s.missing,
        problems: s.problems,
    })
}

/// What an install did.
pub fn install_report(report: setup::InstallReport) -> InstallReport {
    InstallReport {
        webhooks: report
            .webhooks
            .into_iter()
            .map(|w| InstalledReport {
                event: w.event,
                id: w.id,
                url: w.url,
                action: match w.action {
                    setup::InstallAction::Created => "created",
                    setup::InstallAction::Repaired => "repaired",
                    setup::InstallAction::Unchanged => "unchanged",
                },
            })
            .collect(),
        warnings: report.warnings,
    }
}

/// What a disconnect did.
pub fn disconnected(id: &str, report: setup::DisconnectReport) -> anyhow::Result<Disconnected> {
    Ok(Disconnected {
        connection: connection(id)?,
        removed_webhooks: report.removed_webhooks,
        failed_webhooks: report.failed_webhooks,
        purged: report.purged,
    })
}

/// A finished OAuth round trip.
pub fn connected(c: setup::OauthConnected) -> anyhow::Result<lever_plugin::auth::Connected> {
    Ok(lever_plugin::auth::Connected {
        connection: connection(&c.connection)?,
        account_id: c.account_id,
        expires_at: c.expires_at,
        missing_scopes: c.missing_scopes.into_iter().map(missing_scope).collect(),
    })
}

/// A submission as the typed face takes it.
pub fn submission(
    s: lever_plugin::sync::upload::Submission,
) -> crate::runtime::bindings::exports::lever::connector::partner::CandidateSubmission {
    use crate::runtime::bindings::exports::lever::connector::partner as p;
    use lever_plugin::sync::upload::ResumeSource;
    p::CandidateSubmission {
        partner_candidate_id: s.partner_candidate_id,
        partner_role_id: s.partner_role_id,
        name: s.name,
        emails: s.emails,
        phones: s
            .phones
            .into_iter()
            .map(|ph| types::Phone {
                kind: ph.kind,
                value: ph.value,
            })
            .collect(),
        linkedin_url: s.linkedin_url,
        application_url: s.application_url,
        note: s.note,
        resume: s.resume.map(|r| p::Resume {
            file_name: r.file_name,
            content_type: Some(r.content_type),
            source: match r.source {
                ResumeSource::Bytes(bytes) => p::ResumeSource::Bytes(bytes),
                ResumeSource::Url(url) => p::ResumeSource::Url(url.to_string()),
            },
        }),
    }
}
