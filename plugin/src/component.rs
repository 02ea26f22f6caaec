//! The adapter: implements the component's exports by converting between WIT types and
//! the domain types, and calling the logic with the WASI I/O.

use crate::actions as lever_actions;
use crate::actions::field;
use crate::auth;
use crate::bindings::exports::lever::connector::types as wit;
use crate::bindings::exports::lever::connector::{
    actions, operations, partner, setup, triggers, webhooks,
};
use crate::error::{ConnectorError, Service};
use crate::io::Env;
use crate::lever::{self, OpportunityId};
use crate::ops;
use crate::setup as setup_logic;
use crate::setup::{status, webhooks as install};
use crate::store::{ConnectionId, DeliveryState};
use crate::sync::partner_stage::{self, PartnerMove};
use crate::sync::{reconcile, stage, upload};
use crate::wasi_io::with_env;

/// The type the generated exports call into.
pub(crate) struct Component;

impl From<ConnectorError> for wit::ConnectorError {
    fn from(error: ConnectorError) -> Self {
        match error {
            ConnectorError::InvalidInput(m) => Self::InvalidInput(m),
            ConnectorError::Unauthorized(m) => Self::Unauthorized(m),
            ConnectorError::NotFound(m) => Self::NotFound(m),
            ConnectorError::Conflict(m) => Self::Conflict(m),
            ConnectorError::TooLarge(limit) => Self::TooLarge(limit),
            ConnectorError::RateLimited { retry_after_ms } => {
                Self::RateLimited(wit::RateLimit { retry_after_ms })
            }
            ConnectorError::Upstream {
                service,
                status,
                message,
            } => Self::Upstream(wit::UpstreamError {
                service: match service {
                    Service::Lever => wit::Service::Lever,
                    Service::Partner => wit::Service::Partner,
                },
                status,
                message,
            }),
            ConnectorError::NotConfigured(key) => Self::NotConfigured(key),
            ConnectorError::Unsupported(m) => Self::Unsupported(m),
            ConnectorError::Internal(m) => Self::Internal(m),
        }
    }
}

type WitResult<T> = Result<T, wit::ConnectorError>;

/// Runs `f` for a parsed connection id with the WASI environment.
fn on<T>(
    connection: &str,
    f: impl FnOnce(&Env, &ConnectionId) -> Result<T, ConnectorError>,
) -> WitResult<T> {
    let connection = ConnectionId::parse(connection)?;
    with_env(|env| f(env, &connection)).map_err(Into::into)
}

/// Runs operation `name` of [`crate::ops`] for a parsed connection id with the WASI
/// environment, under the operation's audit policy.
fn op<T>(
    connection: &str,
    name: &str,
    f: impl FnOnce(&Env, &ConnectionId) -> Result<T, ConnectorError>,
) -> WitResult<T> {
    let connection = ConnectionId::parse(connection)?;
    with_env(|env| ops::perform(env, &connection, name, ops::Face::Typed, f)).map_err(Into::into)
}

// ---- typed face ----

fn delivery_state(state: DeliveryState) -> webhooks::DeliveryState {
    match state {
        DeliveryState::Processing => webhooks::DeliveryState::Processing,
        DeliveryState::Forwarded => webhooks::DeliveryState::Forwarded,
        DeliveryState::Ignored => webhooks::DeliveryState::Ignored,
        DeliveryState::Skipped => webhooks::DeliveryState::Skipped,
        DeliveryState::Queued => webhooks::DeliveryState::Queued,
        DeliveryState::DeadLettered => webhooks::DeliveryState::DeadLettered,
    }
}

fn skip_reason(reason: stage::SkipReason) -> webhooks::SkipReason {
    match reason {
        stage::SkipReason::OpportunityNotInLever { opportunity_id } => {
            webhooks::SkipReason::OpportunityNotInLever(opportunity_id)
        }
        stage::SkipReason::NotLinked { opportunity_id } => {
            webhooks::SkipReason::NotLinked(opportunity_id)
        }
        stage::SkipReason::StageNotMapped { stage_id } => {
            webhooks::SkipReason::StageNotMapped(stage_id)
        }
        stage::SkipReason::AlreadyReported { state } => {
            webhooks::SkipReason::AlreadyReported(state)
        }
        stage::SkipReason::NotHired { opportunity_id } => {
            webhooks::SkipReason::NotHired(opportunity_id)
        }
        stage::SkipReason::StillInLever { opportunity_id } => {
            webhooks::SkipReason::StillInLever(opportunity_id)
        }
        stage::SkipReason::Ping => webhooks::SkipReason::Ping,
        stage::SkipReason::InterviewNotConfirmed { interview_id } => {
            webhooks::SkipReason::InterviewNotConfirmed(interview_id)
        }
    }
}

impl webhooks::Guest for Component {
    fn handle_lever_webhook(
        connection: String,
        body: Vec<u8>,
    ) -> WitResult<webhooks::WebhookReceipt> {
        let receipt = on(&connection, |env, c| {
            stage::handle_lever_webhook(env, c, &body)
        })?;
        let outcome = match receipt.outcome {
            stage::Outcome::Forwarded(f) => {
                webhooks::WebhookOutcome::Forwarded(webhooks::ForwardedEvent {
                    webhook_id: f.webhook_id,
                    event_type: f.event_type.into(),
                    opportunity_id: f.opportunity_id,
                    partner_candidate_id: f.partner_candidate_id,
                    lever_stage_id: f.lever_stage_id,
                    partner_stage: f.partner_stage,
                })
            }
            stage::Outcome::Duplicate(state) => {
                webhooks::WebhookOutcome::Duplicate(delivery_state(state))
            }
            stage::Outcome::Ignored(event) => webhooks::WebhookOutcome::Ignored(event),
            stage::Outcome::Skipped(reason) => {
                webhooks::WebhookOutcome::Skipped(skip_reason(reason))
            }
            stage::Outcome::Queued(q) => {
                webhooks::WebhookOutcome::Queued(webhooks::QueuedDelivery {
                    attempts: q.attempts,
                    next_attempt_at: q.next_attempt_at,
                    last_error: q.last_error,
                    dead_lettered: q.dead_lettered,
                })
            }
        };
        Ok(webhooks::WebhookReceipt {
            connection: receipt.connection_id.to_string(),
            event: receipt.event,
            token: receipt.token,
            outcome,
        })
    }

    fn tick() -> WitResult<webhooks::TickReport> {
        let report = with_env(crate::outbox::tick)?;
        Ok(webhooks::TickReport {
            attempted: report.attempted,
            delivered: report.delivered,
            rescheduled: report.rescheduled,
            dead_lettered: report.dead_lettered,
            waiting: report.waiting,
            swept: report.swept,
        })
    }
}

impl partner::Guest for Component {
    fn submit_candidate(
        connection: String,
        submission: partner::CandidateSubmission,
    ) -> WitResult<partner::UploadedCandidate> {
        let resume = match submission.resume {
            None => None,
            Some(r) => Some(upload::resume(
                r.file_name,
                r.content_type,
                match r.source {
                    partner::ResumeSource::Bytes(bytes) => upload::ResumeSource::Bytes(bytes),
                    partner::ResumeSource::Url(url) => {
                        upload::ResumeSource::Url(upload::resume_url(&url)?)
                    }
                },
            )),
        };
        let submission = upload::Submission {
            partner_candidate_id: submission.partner_candidate_id,
            partner_role_id: submission.partner_role_id,
            name: submission.name,
            emails: submission.emails,
            phones: submission
                .phones
                .into_iter()
                .map(|p| upload::Phone {
                    kind: p.kind,
                    value: p.value,
                })
                .collect(),
            linkedin_url: submission.linkedin_url,
            application_url: submission.application_url,
            note: submission.note,
            resume,
        };
        let uploaded = op(&connection, "submit-candidate", |env, c| {
            upload::submit(env, c, &submission)
        })?;
        Ok(partner::UploadedCandidate {
            opportunity_id: uploaded.opportunity_id,
            url: uploaded.url,
            posting_id: uploaded.posting_id,
            stage_id: uploaded.stage_id,
            deduped: uploaded.deduped,
            created: uploaded.created,
        })
    }

    fn set_candidate_stage(
        connection: String,
        partner_candidate_id: String,
        requested: partner::CandidateMove,
    ) -> WitResult<partner::MovedCandidate> {
        let partner_move = match requested {
            partner::CandidateMove::Stage(stage) => PartnerMove::Stage(stage),
            partner::CandidateMove::Rejected(reason) => PartnerMove::Rejected { reason },
        };
        let moved = op(&connection, "set-candidate-stage", |env, c| {
            partner_stage::set_candidate_stage(env, c, &partner_candidate_id, &partner_move)
        })?;
        Ok(partner::MovedCandidate {
            opportunity_id: moved.opportunity_id,
            lever_stage_id: moved.lever_stage_id,
            archive_reason_id: moved.archive_reason_id,
            changed: moved.changed,
        })
    }

    fn reconcile(connection: String) -> WitResult<partner::ReconcileReport> {
        let report = op(&connection, "reconcile", reconcile::reconcile)?;
        Ok(partner::ReconcileReport {
            changed: report.changed,
            tracked: report.tracked,
            fixed: report.fixed,
            cursor: report.cursor,
        })
    }

    fn link_candidate(
        connection: String,
        partner_candidate_id: String,
        opportunity_id: String,
    ) -> WitResult<()> {
        op(&connection, "link-candidate", |env, c| {
            stage::link_candidate(
                env,
                c,
                &partner_candidate_id,
                &OpportunityId(opportunity_id),
            )
        })
    }

    fn get_linked_candidate(
        connection: String,
        opportunity_id: String,
    ) -> WitResult<Option<String>> {
        op(&connection, "get-linked-candidate", |env, c| {
            stage::linked_candidate(env, c, &OpportunityId(opportunity_id))
        })
    }
}

fn wit_stage(stage: lever::Stage) -> wit::Stage {
    wit::Stage {
        id: stage.id.0,
        text: stage.text,
    }
}

fn wit_user(user: lever::User) -> wit::User {
    wit::User {
        id: user.id.0,
        name: user.name,
        email: user.email,
        access_role: user.access_role,
        deactivated_at: user.deactivated_at,
    }
}

fn missing_scope(m: auth::MissingScope) -> setup::MissingScope {
    setup::MissingScope {
        scope: m.scope,
        needed_for: m.needed_for,
    }
}

fn role_link(r: setup_logic::RoleLink) -> setup::RoleLink {
    setup::RoleLink {
        role: r.role,
        posting_id: r.posting_id,
    }
}

fn wit_status(s: status::ConnectionStatus) -> setup::ConnectionStatus {
    setup::ConnectionStatus {
        connection: s.connection.to_string(),
        auth: match s.auth {
            status::AuthKind::None => setup::AuthKind::None,
            status::AuthKind::ApiKey => setup::AuthKind::ApiKey,
            status::AuthKind::Oauth => setup::AuthKind::Oauth,
        },
        environment: s.environment.into(),
        reconnect_needed: s.reconnect_needed,
        token_expires_at: s.token_expires_at,
        account_id: s.account_id,
        missing_scopes: s.missing_scopes.into_iter().map(missing_scope).collect(),
        perform_as: s.perform_as,
        roles: s.roles.into_iter().map(role_link).collect(),
        mapped_stages: s
            .mapped_stages
            .into_iter()
            .map(|m| setup::MappedStage {
                lever_stage_id: m.lever_stage_id,
                text: m.text,
                partner_stage: m.partner_stage,
            })
            .collect(),
        unmapped_stages: s.unmapped_stages.into_iter().map(wit_stage).collect(),
        upload_stage: s.upload_stage.map(|u| setup::UploadStage {
            stage_id: u.stage_id,
            text: u.text,
            source: if u.source == "configured" {
                setup::UploadStageSource::Chosen
            } else {
                setup::UploadStageSource::DefaultRule
            },
        }),
        webhooks: s
            .webhooks
            .into_iter()
            .map(|w| setup::WebhookStatus {
                event: w.event,
                id: w.id,
                url: w.url,
                state: match w.state {
                    status::WebhookState::Missing => setup::WebhookState::Missing,
                    status::WebhookState::AwaitingEnablement => {
                        setup::WebhookState::AwaitingEnablement
                    }
                    status::WebhookState::Receiving => setup::WebhookState::Receiving,
                },
                last_delivery_at: w.last_delivery_at,
            })
            .collect(),
        missing: s.missing,
        problems: s.problems,
    }
}

fn wit_reason(r: lever::ArchiveReason) -> setup::ArchiveReason {
    setup::ArchiveReason {
        hired: r.kind == "hired",
        active: r.status != "inactive",
        id: r.id,
        text: r.text,
    }
}

impl setup::Guest for Component {
    fn list_connections() -> WitResult<Vec<String>> {
        with_env(crate::setup::list_connections)
            .map(|ids| ids.into_iter().map(String::from).collect())
            .map_err(Into::into)
    }

    fn list_lever_archive_reasons(connection: String) -> WitResult<Vec<setup::ArchiveReason>> {
        op(
            &connection,
            "list-lever-archive-reasons",
            setup_logic::list_archive_reasons,
        )
        .map(|reasons| reasons.into_iter().map(wit_reason).collect())
    }

    fn set_rejection_reason(
        connection: String,
        archive_reason_id: String,
    ) -> WitResult<setup::ArchiveReason> {
        op(&connection, "set-rejection-reason", |env, c| {
            setup_logic::set_rejection_reason(env, c, &archive_reason_id)
        })
        .map(wit_reason)
    }

    fn set_upload_tags(connection: String, tags: Vec<String>) -> WitResult<()> {
        op(&connection, "set-upload-tags", |env, c| {
            setup_logic::set_upload_tags(env, c, &tags)
        })
    }

    fn connect_api_key(connection: String, api_key: String) -> WitResult<()> {
        op(&connection, "connect-api-key", |env, c| {
            auth::connect_api_key(env, c, &api_key)
        })
    }

    fn begin_oauth(connection: String) -> WitResult<String> {
        op(&connection, "begin-oauth", auth::begin_oauth)
    }

    fn complete_oauth(callback: setup::OauthCallback) -> WitResult<setup::OauthConnected> {
        let callback = auth::Callback {
            code: callback.code,
            state: callback.state,
            error: callback.error,
            error_description: callback.error_description,
        };
        let connected = with_env(|env| auth::complete_oauth(env, &callback))?;
        Ok(setup::OauthConnected {
            connection: connected.connection.to_string(),
            account_id: connected.account_id,
            expires_at: connected.expires_at,
            missing_scopes: connected
                .missing_scopes
                .into_iter()
                .map(missing_scope)
                .collect(),
        })
    }

    fn get_status(connection: String) -> WitResult<setup::ConnectionStatus> {
        op(&connection, "get-status", status::status).map(wit_status)
    }

    fn list_lever_stages(connection: String) -> WitResult<Vec<wit::Stage>> {
        op(&connection, "list-lever-stages", setup_logic::list_stages)
            .map(|stages| stages.into_iter().map(wit_stage).collect())
    }

    fn list_lever_users(connection: String) -> WitResult<Vec<wit::User>> {
        op(&connection, "list-lever-users", setup_logic::list_users)
            .map(|users| users.into_iter().map(wit_user).collect())
    }

    fn list_lever_postings(
        connection: String,
        state: Option<String>,
    ) -> WitResult<Vec<setup::PostingSummary>> {
        let postings = op(&connection, "list-lever-postings", |env, c| {
            setup_logic::list_postings(env, c, state.as_deref())
        })?;
        Ok(postings
            .into_iter()
            .map(|p| setup::PostingSummary {
                id: p.id,
                text: p.text,
                state: p.state,
                updated_at: p.updated_at,
            })
            .collect())
    }

    fn set_stage_map(connection: String, mappings: Vec<setup::StageMapping>) -> WitResult<()> {
        let pairs: Vec<(String, String)> = mappings
            .into_iter()
            .map(|m| (m.lever_stage_id, m.partner_stage))
            .collect();
        op(&connection, "set-stage-map", |env, c| {
            setup_logic::set_stage_map(env, c, &pairs)
        })
        .map(drop)
    }

    fn get_stage_map(connection: String) -> WitResult<Vec<setup::StageMapping>> {
        let map = op(&connection, "get-stage-map", setup_logic::stage_map)?;
        Ok(map
            .into_iter()
            .map(|(lever_stage_id, partner_stage)| setup::StageMapping {
                lever_stage_id,
                partner_stage,
            })
            .collect())
    }

    fn set_perform_as(connection: String, user_id: String) -> WitResult<wit::User> {
        op(&connection, "set-perform-as", |env, c| {
            setup_logic::set_perform_as(env, c, &user_id)
        })
        .map(wit_user)
    }

    fn set_upload_stage(
        connection: String,
        stage_id: Option<String>,
    ) -> WitResult<Option<wit::Stage>> {
        op(&connection, "set-upload-stage", |env, c| {
            setup_logic::set_upload_stage(env, c, stage_id.as_deref())
        })
        .map(|stage| stage.map(wit_stage))
    }

    fn link_role(connection: String, role: String, posting_id: String) -> WitResult<()> {
        op(&connection, "link-role", |env, c| {
            setup_logic::link_role(env, c, &role, &posting_id)
        })
        .map(drop)
    }

    fn unlink_role(connection: String, role: String) -> WitResult<()> {
        op(&connection, "unlink-role", |env, c| {
            setup_logic::unlink_role(env, c, &role)
        })
    }

    fn list_roles(connection: String) -> WitResult<Vec<setup::RoleLink>> {
        op(&connection, "list-roles", setup_logic::list_roles)
            .map(|roles| roles.into_iter().map(role_link).collect())
    }

    fn install_webhooks(connection: String) -> WitResult<setup::InstallReport> {
        let report = op(&connection, "install-webhooks", install::install)?;
        Ok(setup::InstallReport {
            webhooks: report
                .webhooks
                .into_iter()
                .map(|w| setup::InstalledWebhook {
                    event: w.event,
                    id: w.id,
                    url: w.url,
                    action: match w.action {
                        "created" => setup::InstallAction::Created,
                        "repaired" => setup::InstallAction::Repaired,
                        _ => setup::InstallAction::Unchanged,
                    },
                })
                .collect(),
            warnings: report.warnings,
        })
    }

    fn disconnect(connection: String, purge: bool) -> WitResult<setup::DisconnectReport> {
        let report = op(&connection, "disconnect", |env, c| {
            setup_logic::disconnect(env, c, purge)
        })?;
        Ok(setup::DisconnectReport {
            removed_webhooks: report.removed_webhooks,
            failed_webhooks: report.failed_webhooks,
            purged: report.purged,
        })
    }

    fn list_dead_letters(connection: String) -> WitResult<Vec<setup::DeadLetter>> {
        let letters = op(
            &connection,
            "list-dead-letters",
            crate::outbox::dead_letters,
        )?;
        Ok(letters
            .into_iter()
            .map(|item| setup::DeadLetter {
                token: item.token,
                event: item.event,
                attempts: item.attempts,
                accepted_at: item.accepted_at,
                last_error: item.last_error,
            })
            .collect())
    }

    fn replay_dead_letter(connection: String, token: String) -> WitResult<webhooks::DeliveryState> {
        op(&connection, "replay-dead-letter", |env, c| {
            crate::outbox::replay(env, c, &token)
        })
        .map(delivery_state)
    }
}

fn text(v: &serde_json::Value, key: &str) -> String {
    field(v, key).as_str().unwrap_or_default().to_string()
}

fn opt_text(v: &serde_json::Value, key: &str) -> Option<String> {
    field(v, key)
        .as_str()
        .filter(|s| !s.is_empty())
        .map(String::from)
}

fn texts(v: &serde_json::Value, key: &str) -> Vec<String> {
    field(v, key)
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn phones(v: &serde_json::Value) -> Vec<wit::Phone> {
    field(v, "phones")
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| wit::Phone {
                    kind: field(p, "type").as_str().unwrap_or("other").to_string(),
                    value: text(p, "value"),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn wit_opportunity(v: &serde_json::Value) -> wit::Opportunity {
    wit::Opportunity {
        id: text(v, "id"),
        name: text(v, "name"),
        headline: opt_text(v, "headline"),
        contact: text(v, "contact"),
        emails: texts(v, "emails"),
        phones: phones(v),
        links: texts(v, "links"),
        location: opt_text(v, "location"),
        stage: text(v, "stage"),
        origin: opt_text(v, "origin"),
        sources: texts(v, "sources"),
        tags: texts(v, "tags"),
        owner: opt_text(v, "owner"),
        applications: texts(v, "applications"),
        archived: field(v, "archived").as_object().map(|a| wit::Archived {
            reason: a
                .get("reason")
                .and_then(|r| r.as_str())
                .unwrap_or_default()
                .to_string(),
            archived_at: a
                .get("archivedAt")
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0),
        }),
        created_at: field(v, "createdAt").as_u64().unwrap_or(0),
        updated_at: field(v, "updatedAt").as_u64().unwrap_or(0),
    }
}

fn wit_contact(v: &serde_json::Value) -> wit::Contact {
    wit::Contact {
        id: text(v, "id"),
        name: text(v, "name"),
        headline: opt_text(v, "headline"),
        location: field(field(v, "location"), "name")
            .as_str()
            .or_else(|| field(v, "location").as_str())
            .filter(|s| !s.is_empty())
            .map(String::from),
        emails: texts(v, "emails"),
        phones: phones(v),
        is_anonymized: field(v, "isAnonymized").as_bool().unwrap_or(false),
    }
}

fn wit_categories(v: &serde_json::Value) -> wit::PostingCategories {
    wit::PostingCategories {
        team: opt_text(v, "team"),
        department: opt_text(v, "department"),
        location: opt_text(v, "location"),
        commitment: opt_text(v, "commitment"),
        level: opt_text(v, "level"),
    }
}

fn wit_posting(v: &serde_json::Value) -> wit::Posting {
    wit::Posting {
        id: text(v, "id"),
        text: text(v, "text"),
        state: text(v, "state"),
        categories: wit_categories(field(v, "categories")),
        tags: texts(v, "tags"),
        workplace_type: opt_text(v, "workplaceType"),
        owner: opt_text(v, "owner"),
        hiring_manager: opt_text(v, "hiringManager"),
        description: opt_text(field(v, "content"), "description"),
        created_at: field(v, "createdAt").as_u64().unwrap_or(0),
        updated_at: field(v, "updatedAt").as_u64().unwrap_or(0),
    }
}

fn domain_phones(phones: Vec<wit::Phone>) -> Vec<upload::Phone> {
    phones
        .into_iter()
        .map(|p| upload::Phone {
            kind: p.kind,
            value: p.value,
        })
        .collect()
}

fn domain_categories(c: wit::PostingCategories) -> lever_actions::Categories {
    lever_actions::Categories {
        team: c.team,
        department: c.department,
        location: c.location,
        commitment: c.commitment,
        level: c.level,
    }
}

fn domain_page(page: wit::PageRequest) -> lever_actions::PageRequest {
    lever_actions::PageRequest {
        limit: page.limit,
        cursor: page.cursor,
        all_pages_up_to: page.all_pages_up_to,
    }
}

impl actions::Guest for Component {
    fn create_opportunity(
        connection: String,
        input: actions::NewOpportunity,
    ) -> WitResult<actions::CreatedOpportunity> {
        let input = lever_actions::NewOpportunity {
            name: input.name,
            headline: input.headline,
            emails: input.emails,
            phones: domain_phones(input.phones),
            links: input.links,
            location: input.location,
            stage: input.stage,
            posting: input.posting,
            sources: input.sources,
            tags: input.tags,
            origin: input.origin,
        };
        let created = op(&connection, "create-opportunity", |env, c| {
            lever_actions::create_opportunity(env, c, &input)
        })?;
        Ok(actions::CreatedOpportunity {
            opportunity: wit_opportunity(field(&created, "data")),
            deduped: field(&created, "deduped").as_bool().unwrap_or(false),
        })
    }

    fn get_opportunity(connection: String, id: String) -> WitResult<wit::Opportunity> {
        op(&connection, "get-opportunity", |env, c| {
            lever_actions::get_opportunity(env, c, &id)
        })
        .map(|v| wit_opportunity(&v))
    }

    fn list_opportunities(
        connection: String,
        filter: actions::OpportunityFilter,
        page: wit::PageRequest,
    ) -> WitResult<actions::OpportunityPage> {
        let filter = lever_actions::OpportunityFilter {
            email: filter.email,
            posting_id: filter.posting_id,
            archived_posting_id: filter.archived_posting_id,
            stage_id: filter.stage_id,
            tag: filter.tags,
            origin: filter.origin,
            source: filter.sources,
            contact_id: filter.contact_id,
            archived: filter.archived,
            archive_reason_id: filter.archive_reason_id,
            snoozed: filter.snoozed,
            location: filter.location,
            confidentiality: filter.confidentiality,
            created_at_start: filter.created_at_start,
            created_at_end: filter.created_at_end,
            updated_at_start: filter.updated_at_start,
            updated_at_end: filter.updated_at_end,
            advanced_at_start: filter.advanced_at_start,
            advanced_at_end: filter.advanced_at_end,
            archived_at_start: filter.archived_at_start,
            archived_at_end: filter.archived_at_end,
        };
        let page = domain_page(page);
        let found = op(&connection, "list-opportunities", |env, c| {
            lever_actions::list_opportunities(env, c, &filter, &page)
        })?;
        Ok(actions::OpportunityPage {
            items: found.data.iter().map(wit_opportunity).collect(),
            next: found.next,
        })
    }

    fn get_contact(connection: String, id: String) -> WitResult<wit::Contact> {
        op(&connection, "get-contact", |env, c| {
            lever_actions::get_contact(env, c, &id)
        })
        .map(|v| wit_contact(&v))
    }

    fn update_contact(
        connection: String,
        id: String,
        changes: actions::ContactUpdate,
    ) -> WitResult<wit::Contact> {
        let changes = lever_actions::ContactUpdate {
            name: changes.name,
            headline: changes.headline,
            location: changes.location,
            emails: changes.emails,
            phones: changes.phones.map(domain_phones),
        };
        op(&connection, "update-contact", |env, c| {
            lever_actions::update_contact(env, c, &id, &changes)
        })
        .map(|v| wit_contact(&v))
    }

    fn create_posting(connection: String, input: actions::NewPosting) -> WitResult<wit::Posting> {
        let input = lever_actions::NewPosting {
            text: input.text,
            state: input.state,
            categories: domain_categories(input.categories),
            tags: input.tags,
            description: input.description,
            workplace_type: input.workplace_type,
            owner: input.owner,
            hiring_manager: input.hiring_manager,
        };
        op(&connection, "create-posting", |env, c| {
            lever_actions::create_posting(env, c, &input)
        })
        .map(|v| wit_posting(&v))
    }

    fn update_posting(
        connection: String,
        id: String,
        changes: actions::PostingUpdate,
    ) -> WitResult<wit::Posting> {
        let changes = lever_actions::PostingUpdate {
            text: changes.text,
            state: changes.state,
            categories: changes.categories.map(domain_categories),
            tags: changes.tags,
            description: changes.description,
            workplace_type: changes.workplace_type,
        };
        op(&connection, "update-posting", |env, c| {
            lever_actions::update_posting(env, c, &id, &changes)
        })
        .map(|v| wit_posting(&v))
    }

    fn get_posting(connection: String, id: String) -> WitResult<wit::Posting> {
        op(&connection, "get-posting", |env, c| {
            lever_actions::get_posting(env, c, &id)
        })
        .map(|v| wit_posting(&v))
    }

    fn list_postings(
        connection: String,
        filter: actions::PostingFilter,
        page: wit::PageRequest,
    ) -> WitResult<actions::PostingPage> {
        let filter = lever_actions::PostingFilter {
            state: filter.state,
            team: filter.team,
            department: filter.department,
            location: filter.location,
            commitment: filter.commitment,
            level: filter.level,
            tag: filter.tag,
            distribution_channel: None,
            confidentiality: None,
            updated_at_start: filter.updated_at_start,
            updated_at_end: filter.updated_at_end,
        };
        let page = domain_page(page);
        let found = op(&connection, "list-postings", |env, c| {
            lever_actions::list_postings(env, c, &filter, &page)
        })?;
        Ok(actions::PostingPage {
            items: found.data.iter().map(wit_posting).collect(),
            next: found.next,
        })
    }

    fn proxy(
        connection: String,
        request: actions::ProxyRequest,
    ) -> WitResult<actions::ProxyResponse> {
        let request = lever_actions::ProxyRequest {
            method: match request.method {
                wit::HttpMethod::Get => crate::io::Method::Get,
                wit::HttpMethod::Post => crate::io::Method::Post,
                wit::HttpMethod::Put => crate::io::Method::Put,
                wit::HttpMethod::Delete => crate::io::Method::Delete,
                wit::HttpMethod::Patch => crate::io::Method::Patch,
            },
            path: request.path,
            query: request.query,
            body: request.body,
            perform_as: request.perform_as,
        };
        let answer = op(&connection, "proxy", |env, c| {
            lever_actions::proxy(env, c, &request)
        })?;
        Ok(actions::ProxyResponse {
            status: answer.status,
            body: String::from_utf8_lossy(&answer.body).into_owned(),
        })
    }
}

fn trigger_kind(kind: triggers::TriggerKind) -> crate::triggers::Kind {
    match kind {
        triggers::TriggerKind::CandidateCreated => crate::triggers::Kind::CandidateCreated,
        triggers::TriggerKind::CandidateUpdated => crate::triggers::Kind::CandidateUpdated,
        triggers::TriggerKind::PostingCreated => crate::triggers::Kind::PostingCreated,
        triggers::TriggerKind::PostingUpdated => crate::triggers::Kind::PostingUpdated,
    }
}

impl triggers::Guest for Component {
    fn enable(connection: String, kinds: Vec<triggers::TriggerKind>) -> WitResult<()> {
        let kinds: Vec<_> = kinds.into_iter().map(trigger_kind).collect();
        op(&connection, "enable-triggers", |env, c| {
            crate::triggers::set_enabled(env, c, &kinds)
        })
    }

    fn poll_postings(connection: String) -> WitResult<triggers::PostingPoll> {
        let report = op(&connection, "poll-postings", crate::triggers::poll_postings)?;
        Ok(triggers::PostingPoll {
            created: report.created,
            updated: report.updated,
            cursor: report.cursor,
        })
    }

    fn poll(
        connection: String,
        kind: triggers::TriggerKind,
        cursor: Option<String>,
    ) -> WitResult<triggers::TriggerBatch> {
        let batch = op(&connection, "poll-trigger", |env, c| {
            crate::triggers::poll(env, c, trigger_kind(kind), cursor.as_deref())
        })?;
        Ok(triggers::TriggerBatch {
            events: batch
                .events
                .into_iter()
                .map(|e| triggers::TriggerEvent {
                    kind: match e.kind {
                        crate::triggers::Kind::CandidateCreated => {
                            triggers::TriggerKind::CandidateCreated
                        }
                        crate::triggers::Kind::CandidateUpdated => {
                            triggers::TriggerKind::CandidateUpdated
                        }
                        crate::triggers::Kind::PostingCreated => {
                            triggers::TriggerKind::PostingCreated
                        }
                        crate::triggers::Kind::PostingUpdated => {
                            triggers::TriggerKind::PostingUpdated
                        }
                    },
                    subject: match e.kind {
                        crate::triggers::Kind::CandidateCreated
                        | crate::triggers::Kind::CandidateUpdated => {
                            triggers::TriggerSubject::Opportunity(wit_opportunity(&e.object))
                        }
                        _ => triggers::TriggerSubject::Posting(wit_posting(&e.object)),
                    },
                    id: e.id,
                    occurred_at: e.occurred_at,
                })
                .collect(),
            cursor: batch.cursor,
        })
    }
}

fn wit_group(group: ops::Group) -> operations::OperationGroup {
    match group {
        ops::Group::Connection => operations::OperationGroup::Connection,
        ops::Group::Marketplace => operations::OperationGroup::Marketplace,
        ops::Group::Triggers => operations::OperationGroup::Triggers,
        ops::Group::Outbox => operations::OperationGroup::Outbox,
        ops::Group::Action => operations::OperationGroup::Action,
    }
}

impl operations::Guest for Component {
    fn list_operations() -> Vec<operations::OperationInfo> {
        ops::all()
            .map(|op| operations::OperationInfo {
                name: op.name().into(),
                group: wit_group(op.group()),
                summary: op.summary().into(),
                writes: op.writes(),
                input_schema: op.input_schema().to_string(),
                output_schema: op.output_schema().to_string(),
            })
            .collect()
    }

    fn invoke(
        connection: String,
        operation: operations::Operation,
        input: String,
    ) -> WitResult<String> {
        // The enum's cases are the registry's, in its order (a test checks the WIT file).
        let name = ops::by_index(operation as usize)
            .map(|op| op.name())
            .ok_or_else(|| ConnectorError::Internal("an operation outside the registry".into()))?;
        let input: serde_json::Value = serde_json::from_str(&input)
            .map_err(|e| ConnectorError::InvalidInput(format!("the input is not JSON: {e}")))?;
        let connection = ConnectionId::parse(&connection)?;
        let (_, answer) =
            with_env(|env| ops::invoke(env, &connection, name, &input, ops::Called::TYPED))?;
        Ok(answer.to_string())
    }
}
