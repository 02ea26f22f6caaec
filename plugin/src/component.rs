//! The adapter: implements the component's exports by converting between WIT types and
//! the domain types, and calling the logic with the WASI I/O.

use crate::bindings::exports::lever::connector::types as wit;
use crate::bindings::exports::lever::connector::{actions, partner, setup, triggers, webhooks};
use crate::bindings::exports::wasi::http::incoming_handler;
use crate::bindings::wasi::http::types::{
    Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam,
};
use crate::config;
use crate::error::{ConnectorError, Service};
use crate::http_face::{self, Reply};
use crate::lever::OpportunityId;
use crate::store::Store;
use crate::sync::{links, stage};
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
                service: Service::as_str(service).into(),
                status,
                message,
            }),
            ConnectorError::NotConfigured(key) => Self::NotConfigured(key),
            ConnectorError::Internal(m) => Self::Internal(m),
        }
    }
}

type WitResult<T> = Result<T, wit::ConnectorError>;

fn not_implemented<T>() -> WitResult<T> {
    Err(ConnectorError::not_implemented().into())
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
    let body = match read_body(request, route.max_body_bytes()) {
        Ok(body) => body,
        Err(error) => return http_face::error_reply(&error),
    };
    with_env(|env| Ok(http_face::respond(env, route, &body)))
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

impl webhooks::Guest for Component {
    fn handle_lever_webhook(body: Vec<u8>) -> WitResult<webhooks::WebhookReceipt> {
        let receipt = with_env(|env| stage::handle_lever_webhook(env, &body))?;
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
            stage::Outcome::Duplicate => webhooks::WebhookOutcome::Duplicate,
            stage::Outcome::Ignored(event) => webhooks::WebhookOutcome::Ignored(event),
            stage::Outcome::Skipped(reason) => webhooks::WebhookOutcome::Skipped(reason),
        };
        Ok(webhooks::WebhookReceipt {
            event: receipt.event,
            token: receipt.token,
            outcome,
        })
    }
}

impl partner::Guest for Component {
    fn submit_candidate(
        _submission: partner::CandidateSubmission,
    ) -> WitResult<partner::UploadedCandidate> {
        not_implemented()
    }

    fn set_candidate_stage(_partner_candidate_id: String, _partner_stage: String) -> WitResult<()> {
        not_implemented()
    }

    fn link_candidate(partner_candidate_id: String, opportunity_id: String) -> WitResult<()> {
        with_env(|env| {
            links::link_candidate(env, &partner_candidate_id, &OpportunityId(opportunity_id))
        })
        .map_err(Into::into)
    }

    fn get_linked_candidate(opportunity_id: String) -> WitResult<Option<String>> {
        with_env(|env| Store::new(env.kv).linked_candidate(&OpportunityId(opportunity_id)))
            .map_err(Into::into)
    }
}

impl setup::Guest for Component {
    fn get_status() -> WitResult<setup::ConnectionStatus> {
        with_env(|env| {
            let mut missing = Vec::new();
            let auth = match config::lever(env.config) {
                Ok(settings) => match settings.auth {
                    config::LeverAuth::ApiKey(_) => "api-key",
                    config::LeverAuth::Bearer(_) => "oauth",
                },
                Err(ConnectorError::NotConfigured(key)) => {
                    missing.push(key);
                    "none"
                }
                Err(e) => return Err(e),
            };
            for check in [
                config::partner(env.config).map(drop),
                config::signature_tokens(env.config, "candidateStageChange").map(drop),
            ] {
                if let Err(ConnectorError::NotConfigured(key)) = check {
                    missing.push(key);
                }
            }
            let mapped_stages = match links::stage_map(env) {
                Ok(map) => u32::try_from(map.len()).unwrap_or(u32::MAX),
                Err(ConnectorError::NotConfigured(key)) => {
                    missing.push(key);
                    0
                }
                Err(e) => return Err(e),
            };
            Ok(setup::ConnectionStatus {
                auth: auth.into(),
                perform_as: None,
                missing_config: missing,
                mapped_stages,
            })
        })
        .map_err(Into::into)
    }

    fn begin_oauth(_redirect_uri: String, _state: String) -> WitResult<String> {
        not_implemented()
    }

    fn complete_oauth(_code: String, _state: String) -> WitResult<()> {
        not_implemented()
    }

    fn list_lever_stages() -> WitResult<Vec<wit::Stage>> {
        not_implemented()
    }

    fn list_lever_users() -> WitResult<Vec<wit::User>> {
        not_implemented()
    }

    fn set_stage_map(mappings: Vec<setup::StageMapping>) -> WitResult<()> {
        let pairs: Vec<(String, String)> = mappings
            .into_iter()
            .map(|m| (m.lever_stage_id, m.partner_stage))
            .collect();
        with_env(|env| links::set_stage_map(env, &pairs)).map_err(Into::into)
    }

    fn get_stage_map() -> WitResult<Vec<setup::StageMapping>> {
        let map = with_env(links::stage_map)?;
        Ok(map
            .into_iter()
            .map(|(lever_stage_id, partner_stage)| setup::StageMapping {
                lever_stage_id,
                partner_stage,
            })
            .collect())
    }

    fn set_perform_as(_user_id: String) -> WitResult<()> {
        not_implemented()
    }

    fn link_posting(_partner_role_id: String, _posting_id: String) -> WitResult<()> {
        not_implemented()
    }

    fn install_webhooks(_base_url: String) -> WitResult<Vec<setup::InstalledWebhook>> {
        not_implemented()
    }

    fn disconnect() -> WitResult<()> {
        not_implemented()
    }
}

impl actions::Guest for Component {
    fn create_opportunity(
        _input: actions::NewOpportunity,
    ) -> WitResult<actions::CreatedOpportunity> {
        not_implemented()
    }
    fn get_opportunity(_id: String) -> WitResult<wit::Opportunity> {
        not_implemented()
    }
    fn list_opportunities(
        _filter: actions::OpportunityFilter,
        _page: wit::PageRequest,
    ) -> WitResult<actions::OpportunityPage> {
        not_implemented()
    }
    fn get_contact(_id: String) -> WitResult<wit::Contact> {
        not_implemented()
    }
    fn update_contact(_id: String, _changes: actions::ContactUpdate) -> WitResult<wit::Contact> {
        not_implemented()
    }
    fn create_posting(_input: actions::NewPosting) -> WitResult<wit::Posting> {
        not_implemented()
    }
    fn update_posting(_id: String, _changes: actions::PostingUpdate) -> WitResult<wit::Posting> {
        not_implemented()
    }
    fn get_posting(_id: String) -> WitResult<wit::Posting> {
        not_implemented()
    }
    fn list_postings(
        _filter: actions::PostingFilter,
        _page: wit::PageRequest,
    ) -> WitResult<actions::PostingPage> {
        not_implemented()
    }
    fn proxy(_request: actions::ProxyRequest) -> WitResult<actions::ProxyResponse> {
        not_implemented()
    }
}

impl triggers::Guest for Component {
    fn poll(
        _kind: triggers::TriggerKind,
        _cursor: Option<String>,
    ) -> WitResult<triggers::TriggerBatch> {
        not_implemented()
    }
}
