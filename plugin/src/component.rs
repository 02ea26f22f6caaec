//! The adapter: implements the component's exports by converting between WIT types and
//! the domain types, and calling the logic with the WASI I/O.

use crate::auth;
use crate::bindings::exports::lever::connector::types as wit;
use crate::bindings::exports::lever::connector::{actions, partner, setup, triggers, webhooks};
use crate::bindings::exports::wasi::http::incoming_handler;
use crate::bindings::wasi::http::types::{
    Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam,
};
use crate::error::{ConnectorError, Service};
use crate::http_face::{self, Reply};
use crate::io::Env;
use crate::io::HttpUrl;
use crate::lever::{self, OpportunityId};
use crate::setup as setup_logic;
use crate::setup::{status, webhooks as install};
use crate::store::{ConnectionId, DeliveryState};
use crate::sync::partner_stage::{self, PartnerMove};
use crate::sync::{reconcile, stage, upload};
use crate::wasi_io::{read_to_end, with_env, write_all};

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

fn unsupported<T>(what: &str) -> WitResult<T> {
    Err(ConnectorError::unsupported(what).into())
}

/// Runs `f` for a parsed connection id with the WASI environment.
fn on<T>(
    connection: &str,
    f: impl FnOnce(&Env, &ConnectionId) -> Result<T, ConnectorError>,
) -> WitResult<T> {
    let connection = ConnectionId::parse(connection)?;
    with_env(|env| f(env, &connection)).map_err(Into::into)
}

// ---- HTTP face ----

impl incoming_handler::Guest for Component {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let reply = serve(&request);
        drop(request);
        send(reply, response_out);
    }
}

fn serve(request: &IncomingRequest) -> Reply {
    let method = match request.method() {
        Method::Get => "GET".to_string(),
        Method::Head => "HEAD".into(),
        Method::Post => "POST".into(),
        Method::Put => "PUT".into(),
        Method::Delete => "DELETE".into(),
        Method::Connect => "CONNECT".into(),
        Method::Options => "OPTIONS".into(),
        Method::Trace => "TRACE".into(),
        Method::Patch => "PATCH".into(),
        Method::Other(other) => other,
    };
    let path = request.path_with_query().unwrap_or_else(|| "/".into());
    let route = match http_face::route(&method, &path) {
        Ok(route) => route,
        Err(reply) => return reply,
    };
    let authorization = request
        .headers()
        .get("authorization")
        .into_iter()
        .find_map(|v| String::from_utf8(v).ok());
    let body = match read_body(request, route.max_body_bytes()) {
        Ok(body) => body,
        Err(error) => return http_face::error_reply(&error),
    };
    with_env(|env| {
        Ok(http_face::respond(
            env,
            route,
            authorization.as_deref(),
            &body,
        ))
    })
    .unwrap_or_else(|error| http_face::error_reply(&error))
}

fn read_body(request: &IncomingRequest, limit: usize) -> Result<Vec<u8>, ConnectorError> {
    let too_large = ConnectorError::TooLarge(limit as u64);
    let declared = request
        .headers()
        .get("content-length")
        .into_iter()
        .filter_map(|v| String::from_utf8(v).ok()?.trim().parse::<u64>().ok())
        .max();
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(too_large);
    }
    let body = request
        .consume()
        .map_err(|()| ConnectorError::Internal("request body already taken".into()))?;
    let stream = body
        .stream()
        .map_err(|()| ConnectorError::Internal("request body stream".into()))?;
    let bytes = read_to_end(&stream, limit)
        .map_err(|e| ConnectorError::InvalidInput(format!("reading the request body: {e}")))?
        .ok_or(too_large)?;
    Ok(bytes)
}

fn send(reply: Reply, response_out: ResponseOutparam) {
    let mut entries = vec![("content-type".to_string(), b"application/json".to_vec())];
    entries.extend(reply.headers.into_iter().map(|(n, v)| (n, v.into_bytes())));
    let headers = Fields::from_list(&entries).unwrap_or_else(|_| Fields::new());
    let response = OutgoingResponse::new(headers);
    if response.set_status_code(reply.status).is_err() {
        let _ = response.set_status_code(500);
    }
    let Ok(body) = response.body() else {
        return;
    };
    ResponseOutparam::set(response_out, Ok(response));
    if let Ok(stream) = body.write() {
        // The client may have gone; there is no one left to tell.
        let _ = write_all(&stream, &reply.body);
        drop(stream);
    }
    let _ = OutgoingBody::finish(body, None);
}

// ---- typed face ----

fn delivery_state(state: DeliveryState) -> webhooks::DeliveryState {
    match state {
        DeliveryState::Processing => webhooks::DeliveryState::Processing,
        DeliveryState::Forwarded => webhooks::DeliveryState::Forwarded,
        DeliveryState::Ignored => webhooks::DeliveryState::Ignored,
        DeliveryState::Skipped => webhooks::DeliveryState::Skipped,
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
        };
        Ok(webhooks::WebhookReceipt {
            connection: receipt.connection_id.to_string(),
            event: receipt.event,
            token: receipt.token,
            outcome,
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
            Some(r) => Some(upload::Resume {
                content_type: r
                    .content_type
                    .unwrap_or_else(|| "application/octet-stream".into()),
                file_name: r.file_name,
                source: match r.source {
                    partner::ResumeSource::Bytes(bytes) => upload::ResumeSource::Bytes(bytes),
                    partner::ResumeSource::Url(url) => {
                        upload::ResumeSource::Url(HttpUrl::parse(&url).ok_or_else(|| {
                            ConnectorError::InvalidInput("resume url is not an http(s) URL".into())
                        })?)
                    }
                },
            }),
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
        let uploaded = on(&connection, |env, c| upload::submit(env, c, &submission))?;
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
        let moved = on(&connection, |env, c| {
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
        let report = on(&connection, reconcile::reconcile)?;
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
        on(&connection, |env, c| {
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
        on(&connection, |env, c| {
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
        with_env(|env| crate::store::Store::new(env.kv).connections())
            .map(|ids| ids.into_iter().map(String::from).collect())
            .map_err(Into::into)
    }

    fn list_lever_archive_reasons(connection: String) -> WitResult<Vec<setup::ArchiveReason>> {
        on(&connection, setup_logic::list_archive_reasons)
            .map(|reasons| reasons.into_iter().map(wit_reason).collect())
    }

    fn set_rejection_reason(
        connection: String,
        archive_reason_id: String,
    ) -> WitResult<setup::ArchiveReason> {
        on(&connection, |env, c| {
            setup_logic::set_rejection_reason(env, c, &archive_reason_id)
        })
        .map(wit_reason)
    }

    fn set_upload_tags(connection: String, tags: Vec<String>) -> WitResult<()> {
        on(&connection, |env, c| {
            setup_logic::set_upload_tags(env, c, &tags)
        })
    }

    fn connect_api_key(connection: String, api_key: String) -> WitResult<()> {
        on(&connection, |env, c| {
            auth::connect_api_key(env, c, &api_key)
        })
    }

    fn begin_oauth(connection: String) -> WitResult<String> {
        on(&connection, auth::begin_oauth)
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
        on(&connection, status::status).map(wit_status)
    }

    fn list_lever_stages(connection: String) -> WitResult<Vec<wit::Stage>> {
        on(&connection, setup_logic::list_stages)
            .map(|stages| stages.into_iter().map(wit_stage).collect())
    }

    fn list_lever_users(connection: String) -> WitResult<Vec<wit::User>> {
        on(&connection, setup_logic::list_users)
            .map(|users| users.into_iter().map(wit_user).collect())
    }

    fn list_lever_postings(
        connection: String,
        state: Option<String>,
    ) -> WitResult<Vec<setup::PostingSummary>> {
        let postings = on(&connection, |env, c| {
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
        on(&connection, |env, c| {
            setup_logic::set_stage_map(env, c, &pairs)
        })
        .map(drop)
    }

    fn get_stage_map(connection: String) -> WitResult<Vec<setup::StageMapping>> {
        let map = on(&connection, setup_logic::stage_map)?;
        Ok(map
            .into_iter()
            .map(|(lever_stage_id, partner_stage)| setup::StageMapping {
                lever_stage_id,
                partner_stage,
            })
            .collect())
    }

    fn set_perform_as(connection: String, user_id: String) -> WitResult<wit::User> {
        on(&connection, |env, c| {
            setup_logic::set_perform_as(env, c, &user_id)
        })
        .map(wit_user)
    }

    fn set_upload_stage(
        connection: String,
        stage_id: Option<String>,
    ) -> WitResult<Option<wit::Stage>> {
        on(&connection, |env, c| {
            setup_logic::set_upload_stage(env, c, stage_id.as_deref())
        })
        .map(|stage| stage.map(wit_stage))
    }

    fn link_role(connection: String, role: String, posting_id: String) -> WitResult<()> {
        on(&connection, |env, c| {
            setup_logic::link_role(env, c, &role, &posting_id)
        })
        .map(drop)
    }

    fn unlink_role(connection: String, role: String) -> WitResult<()> {
        on(&connection, |env, c| {
            setup_logic::unlink_role(env, c, &role)
        })
    }

    fn list_roles(connection: String) -> WitResult<Vec<setup::RoleLink>> {
        on(&connection, setup_logic::list_roles)
            .map(|roles| roles.into_iter().map(role_link).collect())
    }

    fn install_webhooks(connection: String) -> WitResult<setup::InstallReport> {
        let report = on(&connection, install::install)?;
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
        let report = on(&connection, |env, c| setup_logic::disconnect(env, c, purge))?;
        Ok(setup::DisconnectReport {
            removed_webhooks: report.removed_webhooks,
            failed_webhooks: report.failed_webhooks,
            purged: report.purged,
        })
    }
}

impl actions::Guest for Component {
    fn create_opportunity(
        _connection: String,
        _input: actions::NewOpportunity,
    ) -> WitResult<actions::CreatedOpportunity> {
        unsupported("create-opportunity")
    }
    fn get_opportunity(_connection: String, _id: String) -> WitResult<wit::Opportunity> {
        unsupported("get-opportunity")
    }
    fn list_opportunities(
        _connection: String,
        _filter: actions::OpportunityFilter,
        _page: wit::PageRequest,
    ) -> WitResult<actions::OpportunityPage> {
        unsupported("list-opportunities")
    }
    fn get_contact(_connection: String, _id: String) -> WitResult<wit::Contact> {
        unsupported("get-contact")
    }
    fn update_contact(
        _connection: String,
        _id: String,
        _changes: actions::ContactUpdate,
    ) -> WitResult<wit::Contact> {
        unsupported("update-contact")
    }
    fn create_posting(_connection: String, _input: actions::NewPosting) -> WitResult<wit::Posting> {
        unsupported("create-posting")
    }
    fn update_posting(
        _connection: String,
        _id: String,
        _changes: actions::PostingUpdate,
    ) -> WitResult<wit::Posting> {
        unsupported("update-posting")
    }
    fn get_posting(_connection: String, _id: String) -> WitResult<wit::Posting> {
        unsupported("get-posting")
    }
    fn list_postings(
        _connection: String,
        _filter: actions::PostingFilter,
        _page: wit::PageRequest,
    ) -> WitResult<actions::PostingPage> {
        unsupported("list-postings")
    }
    fn proxy(
        _connection: String,
        _request: actions::ProxyRequest,
    ) -> WitResult<actions::ProxyResponse> {
        unsupported("the proxy")
    }
}

impl triggers::Guest for Component {
    fn poll(
        _connection: String,
        _kind: triggers::TriggerKind,
        _cursor: Option<String>,
    ) -> WitResult<triggers::TriggerBatch> {
        unsupported("triggers")
    }
}
