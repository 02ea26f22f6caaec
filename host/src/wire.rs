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

use crate::runtime::bindings::exports::lever::connector::{actions, triggers};
use serde_json::{json, Value};

fn phones_json(phones: &[types::Phone]) -> Value {
    json!(phones
        .iter()
        .map(|p| json!({ "type": p.kind, "value": p.value }))
        .collect::<Vec<_>>())
}

/// A typed opportunity in Lever's field names.
pub fn opportunity_json(o: &types::Opportunity) -> Value {
    json!({
        "id": o.id, "name": o.name, "headline": o.headline, "contact": o.contact,
        "emails": o.emails, "phones": phones_json(&o.phones), "links": o.links,
        "location": o.location, "stage": o.stage, "origin": o.origin, "sources": o.sources,
        "tags": o.tags, "owner": o.owner, "applications": o.applications,
        "archived": o.archived.as_ref().map(|a| json!({ "reason": a.reason, "archivedAt": a.archived_at })),
        "createdAt": o.created_at, "updatedAt": o.updated_at,
    })
}

/// A typed contact in Lever's field names.
pub fn contact_json(c: &types::Contact) -> Value {
    json!({
        "id": c.id, "name": c.name, "headline": c.headline,
        "location": { "name": c.location }, "emails": c.emails,
        "phones": phones_json(&c.phones), "isAnonymized": c.is_anonymized,
    })
}

/// A typed posting in Lever's field names.
pub fn posting_json(p: &types::Posting) -> Value {
    json!({
        "id": p.id, "text": p.text, "state": p.state,
        "categories": {
            "team": p.categories.team, "department": p.categories.department,
            "location": p.categories.location, "commitment": p.categories.commitment,
            "level": p.categories.level,
        },
        "tags": p.tags, "workplaceType": p.workplace_type, "owner": p.owner,
        "hiringManager": p.hiring_manager, "content": { "description": p.description },
        "createdAt": p.created_at, "updatedAt": p.updated_at,
    })
}

fn wit_phones(phones: Vec<lever_plugin::sync::upload::Phone>) -> Vec<types::Phone> {
    phones
        .into_iter()
        .map(|p| types::Phone {
            kind: p.kind,
            value: p.value,
        })
        .collect()
}

fn wit_categories(c: lever_plugin::actions::Categories) -> types::PostingCategories {
    types::PostingCategories {
        team: c.team,
        department: c.department,
        location: c.location,
        commitment: c.commitment,
        level: c.level,
    }
}

fn wit_page(p: lever_plugin::actions::PageRequest) -> types::PageRequest {
    types::PageRequest {
        limit: p.limit,
        cursor: p.cursor,
        all_pages_up_to: p.all_pages_up_to,
    }
}

fn field<T: serde::de::DeserializeOwned + Default>(input: &Value, key: &str) -> anyhow::Result<T> {
    match input.get(key) {
        None | Some(Value::Null) => Ok(T::default()),
        Some(v) => {
            Ok(serde_json::from_value(v.clone()).map_err(|e| anyhow::anyhow!("{key}: {e}"))?)
        }
    }
}

fn id(input: &Value) -> anyhow::Result<String> {
    input["id"]
        .as_str()
        .map(String::from)
        .ok_or_else(|| anyhow::anyhow!("the input needs \"id\""))
}

/// Calls one action of the typed face with the JSON input the HTTP face takes
/// (`POST /connections/{c}/actions/{action}`), answering the same JSON shapes.
pub async fn call_action(
    connector: &crate::server::Connector,
    connection: &str,
    action: &str,
    input: &Value,
) -> anyhow::Result<Result<Value, types::ConnectorError>> {
    use lever_plugin::actions as a;
    let (mut store, instance) = connector.typed().await?;
    let face = instance.lever_connector_actions();
    let c = connection.to_string();
    let s = &mut store;
    let data = |v: Value| json!({ "data": v });
    Ok(match action {
        "create-opportunity" => {
            let i: a::NewOpportunity = serde_json::from_value(input.clone())?;
            let input = actions::NewOpportunity {
                name: i.name,
                headline: i.headline,
                emails: i.emails,
                phones: wit_phones(i.phones),
                links: i.links,
                location: i.location,
                stage: i.stage,
                posting: i.posting,
                sources: i.sources,
                tags: i.tags,
                origin: i.origin,
            };
            face.call_create_opportunity(s, &c, &input).await?.map(|created| {
                json!({ "deduped": created.deduped, "data": opportunity_json(&created.opportunity) })
            })
        }
        "get-opportunity" => face
            .call_get_opportunity(s, &c, &id(input)?)
            .await?
            .map(|o| data(opportunity_json(&o))),
        "list-opportunities" => {
            let f: a::OpportunityFilter = field(input, "filter")?;
            let page: a::PageRequest = field(input, "page")?;
            let filter = actions::OpportunityFilter {
                email: f.email,
                posting_id: f.posting_id,
                archived_posting_id: f.archived_posting_id,
                stage_id: f.stage_id,
                tags: f.tag,
                origin: f.origin,
                sources: f.source,
                contact_id: f.contact_id,
                archived: f.archived,
                archive_reason_id: f.archive_reason_id,
                snoozed: f.snoozed,
                location: f.location,
                confidentiality: f.confidentiality,
                created_at_start: f.created_at_start,
                created_at_end: f.created_at_end,
                updated_at_start: f.updated_at_start,
                updated_at_end: f.updated_at_end,
                advanced_at_start: f.advanced_at_start,
                advanced_at_end: f.advanced_at_end,
                archived_at_start: f.archived_at_start,
                archived_at_end: f.archived_at_end,
            };
            face.call_list_opportunities(s, &c, &filter, &wit_page(page))
                .await?
                .map(|p| {
                    json!({
                        "data": p.items.iter().map(opportunity_json).collect::<Vec<_>>(),
                        "hasNext": p.next.is_some(),
                        "next": p.next,
                    })
                })
        }
        "get-contact" => face
            .call_get_contact(s, &c, &id(input)?)
            .await?
            .map(|v| data(contact_json(&v))),
        "update-contact" => {
            let ch: a::ContactUpdate = field(input, "changes")?;
            let changes = actions::ContactUpdate {
                name: ch.name,
                headline: ch.headline,
                location: ch.location,
                emails: ch.emails,
                phones: ch.phones.map(wit_phones),
            };
            face.call_update_contact(s, &c, &id(input)?, &changes)
                .await?
                .map(|v| data(contact_json(&v)))
        }
        "create-posting" => {
            let i: a::NewPosting = serde_json::from_value(input.clone())?;
            let input = actions::NewPosting {
                text: i.text,
                state: i.state,
                categories: wit_categories(i.categories),
                tags: i.tags,
                description: i.description,
                workplace_type: i.workplace_type,
                owner: i.owner,
                hiring_manager: i.hiring_manager,
            };
            face.call_create_posting(s, &c, &input)
                .await?
                .map(|p| data(posting_json(&p)))
        }
        "update-posting" => {
            let ch: a::PostingUpdate = field(input, "changes")?;
            let changes = actions::PostingUpdate {
                text: ch.text,
                state: ch.state,
                categories: ch.categories.map(wit_categories),
                tags: ch.tags,
                description: ch.description,
                workplace_type: ch.workplace_type,
            };
            face.call_update_posting(s, &c, &id(input)?, &changes)
                .await?
                .map(|p| data(posting_json(&p)))
        }
        "get-posting" => face
            .call_get_posting(s, &c, &id(input)?)
            .await?
            .map(|p| data(posting_json(&p))),
        "list-postings" => {
            let f: a::PostingFilter = field(input, "filter")?;
            let page: a::PageRequest = field(input, "page")?;
            let filter = actions::PostingFilter {
                state: f.state,
                team: f.team,
                department: f.department,
                location: f.location,
                commitment: f.commitment,
                level: f.level,
                tag: f.tag,
                updated_at_start: f.updated_at_start,
                updated_at_end: f.updated_at_end,
            };
            face.call_list_postings(s, &c, &filter, &wit_page(page))
                .await?
                .map(|p| {
                    json!({
                        "data": p.items.iter().map(posting_json).collect::<Vec<_>>(),
                        "hasNext": p.next.is_some(),
                        "next": p.next,
                    })
                })
        }
        other => anyhow::bail!("unknown action {other:?}"),
    })
}

/// A trigger kind by its name (`candidate-created`, ...).
pub fn trigger_kind(name: &str) -> anyhow::Result<triggers::TriggerKind> {
    Ok(match name {
        "candidate-created" => triggers::TriggerKind::CandidateCreated,
        "candidate-updated" => triggers::TriggerKind::CandidateUpdated,
        "posting-created" => triggers::TriggerKind::PostingCreated,
        "posting-updated" => triggers::TriggerKind::PostingUpdated,
        other => anyhow::bail!(
            "{other:?} is not a trigger: candidate-created, candidate-updated, posting-created, posting-updated"
        ),
    })
}

/// A trigger batch in the HTTP face's shape.
pub fn batch_json(batch: &triggers::TriggerBatch) -> Value {
    let events: Vec<Value> = batch
        .events
        .iter()
        .map(|e| {
            let (kind, object) = match &e.subject {
                triggers::TriggerSubject::Opportunity(o) => (e.kind, opportunity_json(o)),
                triggers::TriggerSubject::Posting(p) => (e.kind, posting_json(p)),
            };
            let kind = match kind {
                triggers::TriggerKind::CandidateCreated => "candidate-created",
                triggers::TriggerKind::CandidateUpdated => "candidate-updated",
                triggers::TriggerKind::PostingCreated => "posting-created",
                triggers::TriggerKind::PostingUpdated => "posting-updated",
            };
            json!({ "id": e.id, "kind": kind, "occurredAt": e.occurred_at, "object": object })
        })
        .collect();
    json!({ "events": events, "cursor": batch.cursor })
}
