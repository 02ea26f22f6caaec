//! The HTTP face: routes, partner authentication, and the one mapping of results to status
//! codes and JSON bodies. The WASI adapter reads the request and writes the reply;
//! everything else is here.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;
use subtle::ConstantTimeEq as _;

use crate::actions;
use crate::audit;
use crate::auth::{self, Callback};
use crate::config;
use crate::error::ConnectorError;
use crate::io::Env;
use crate::lever::webhook::MAX_BODY_BYTES;
use crate::lever::OpportunityId;
use crate::outbox;
use crate::portal::{self, PortalRoute};
use crate::setup::{self, status, webhooks};
use crate::store::ConnectionId;
use crate::sync::partner_stage::{self, PartnerMove};
use crate::sync::{reconcile, stage, upload};
use crate::triggers;

/// The largest body a partner call may send, in bytes.
pub const MAX_PARTNER_BODY_BYTES: usize = 64 * 1024;
/// The largest body passed through the proxy.
pub const MAX_PROXY_BODY_BYTES: usize = 1024 * 1024;
/// The header that asks the proxy to add `perform_as=<the connection's user>`.
pub const PERFORM_AS_HEADER: &str = "lever-perform-as";

/// Whether an incoming request header is one [`respond`] reads (the rest are not passed in).
fn reads_header(name: &str) -> bool {
    name.eq_ignore_ascii_case("authorization")
        || name.eq_ignore_ascii_case(PERFORM_AS_HEADER)
        || name.eq_ignore_ascii_case(crate::audit::DRY_RUN_HEADER)
        || name.eq_ignore_ascii_case("cookie")
}

/// The headers to send with a reply: its own, and `content-type: application/json` unless
/// it names another (the portal's HTML).
pub fn wire_headers(reply_headers: Vec<(String, String)>) -> Vec<(String, String)> {
    if reply_headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
    {
        return reply_headers;
    }
    let mut headers = Vec::with_capacity(reply_headers.len() + 1);
    headers.push(("content-type".to_string(), "application/json".to_string()));
    headers.extend(reply_headers);
    headers
}

/// What every HTTP face does before reading a body: the route for `method` and
/// `path_with_query` (or the reply refusing it), and the headers [`respond`] reads, as text
/// (a value that is not UTF-8 is left out).
pub fn accept<'a>(
    method: &str,
    path_with_query: &str,
    headers: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> Result<(Route, Vec<(String, String)>), Reply> {
    let route = route(method, path_with_query)?;
    let headers = headers
        .into_iter()
        .filter(|(name, _)| reads_header(name))
        .filter_map(|(name, value)| {
            Some((
                name.to_string(),
                std::str::from_utf8(value).ok()?.to_string(),
            ))
        })
        .collect();
    Ok((route, headers))
}

/// [`accept`] for a request of the `http` crate (the WASIp3 face, the host's native
/// baseline).
pub fn accept_http<B>(request: &http::Request<B>) -> Result<(Route, Vec<(String, String)>), Reply> {
    let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
    accept(
        request.method().as_str(),
        path,
        request
            .headers()
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_bytes())),
    )
}

/// The largest candidate submission: a 30 MB resume in base64 and the rest.
pub const MAX_SUBMISSION_BYTES: usize = 41 * 1024 * 1024;

/// A partner route under `/connections/{connection}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartnerRoute {
    /// `GET /connections/{c}`: status.
    Status,
    /// `DELETE /connections/{c}[?purge=true]`: disconnect.
    Disconnect {
        /// Also delete links, maps and settings.
        purge: bool,
    },
    /// `POST /connections/{c}/api-key`.
    ConnectApiKey,
    /// `POST /connections/{c}/oauth/start`.
    OAuthStart,
    /// `GET /connections/{c}/lever/stages`.
    LeverStages,
    /// `GET /connections/{c}/lever/users`.
    LeverUsers,
    /// `GET /connections/{c}/lever/postings[?state=]`.
    LeverPostings {
        /// The state filter.
        state: Option<String>,
    },
    /// `GET /connections/{c}/stage-map`.
    GetStageMap,
    /// `PUT /connections/{c}/stage-map`.
    PutStageMap,
    /// `PUT /connections/{c}/perform-as`.
    PutPerformAs,
    /// `PUT /connections/{c}/upload-stage`.
    PutUploadStage,
    /// `GET /connections/{c}/roles`.
    ListRoles,
    /// `PUT /connections/{c}/roles/{role}`.
    PutRole(String),
    /// `DELETE /connections/{c}/roles/{role}`.
    DeleteRole(String),
    /// `POST /connections/{c}/webhooks`.
    InstallWebhooks,
    /// `PUT /connections/{c}/candidates/{id}/link`.
    LinkCandidate(String),
    /// `GET /connections/{c}/candidates/{id}/link`.
    GetCandidateLink(String),
    /// `POST /connections/{c}/candidates`: upload a candidate.
    SubmitCandidate,
    /// `PUT /connections/{c}/upload-tags`.
    PutUploadTags,
    /// `PUT /connections/{c}/candidates/{id}/stage`: the partner moves or rejects.
    SetCandidateStage(String),
    /// `PUT /connections/{c}/rejection-reason`.
    PutRejectionReason,
    /// `GET /connections/{c}/lever/archive-reasons`.
    LeverArchiveReasons,
    /// `POST /connections/{c}/reconcile`.
    Reconcile,
    /// `POST /connections/{c}/actions/{action}`.
    Action(String),
    /// `{METHOD} /connections/{c}/proxy/{path}?{query}`: below the Lever API root.
    Proxy {
        /// The method.
        method: crate::io::Method,
        /// The path below the API root, as sent (still percent-encoded).
        path: String,
        /// The query pairs.
        query: Vec<(String, String)>,
    },
    /// `PUT /connections/{c}/triggers`: which triggers are enabled.
    PutTriggers,
    /// `POST /connections/{c}/triggers/poll`: poll Lever's postings now.
    PollPostings,
    /// `POST /connections/{c}/portal-link`: a single-use connect-portal link.
    PortalLink,
    /// `GET /connections/{c}/outbox`.
    Outbox,
    /// `GET /connections/{c}/audit`: the writes made for this connection.
    Audit,
    /// `GET /connections/{c}/dead-letters`.
    DeadLetters,
    /// `POST /connections/{c}/dead-letters/{token}/replay`.
    ReplayDeadLetter(String),
    /// `GET /connections/{c}/triggers/{kind}?cursor=`: the events since a cursor.
    TriggerEvents {
        /// The trigger.
        kind: String,
        /// The cursor.
        cursor: Option<String>,
    },
}

/// A route of the HTTP face.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /health`.
    Health,
    /// `POST /webhooks/lever/{connection}`: a Lever webhook delivery.
    LeverWebhook(ConnectionId),
    /// `GET /oauth/callback?code&state`: Lever's redirect after consent.
    OAuthCallback(Callback),
    /// A partner call (needs the partner credential).
    Partner(ConnectionId, PartnerRoute),
    /// The connect portal of a connection (a signed link, then a session cookie).
    Portal(ConnectionId, PortalRoute),
    /// `GET /portal-assets/{name}`: the portal's stylesheet and script.
    PortalAsset(String),
    /// `POST /tick`: retry what is due in every connection's outbox (partner credential).
    Tick,
}

impl Route {
    /// The largest body the route accepts, in bytes.
    pub fn max_body_bytes(&self) -> usize {
        match self {
            Route::LeverWebhook(_) => MAX_BODY_BYTES,
            Route::Health | Route::OAuthCallback(_) | Route::PortalAsset(_) | Route::Tick => 0,
            Route::Portal(..) => portal::MAX_FORM_BYTES,
            Route::Partner(_, PartnerRoute::SubmitCandidate) => MAX_SUBMISSION_BYTES,
            Route::Partner(_, PartnerRoute::Proxy { .. }) => MAX_PROXY_BODY_BYTES,
            Route::Partner(..) => MAX_PARTNER_BODY_BYTES,
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

    fn ok<T: Serialize>(status: u16, value: &T) -> Self {
        match serde_json::to_value(value) {
            Ok(value) => Self::json(status, &value),
            Err(e) => error_reply(&ConnectorError::Internal(format!(
                "encoding the answer: {e}"
            ))),
        }
    }
}

fn not_found(path: &str) -> Reply {
    Reply::json(
        404,
        &json!({ "error": { "code": "not-found", "message": format!("no route for {path}") } }),
    )
}

fn method_not_allowed(path: &str, allowed: &str) -> Reply {
    let mut reply = Reply::json(
        405,
        &json!({ "error": { "code": "method-not-allowed", "message": format!("{path} accepts {allowed} only") } }),
    );
    reply.headers.push(("allow".into(), allowed.into()));
    reply
}

fn query_pairs(query: &str) -> BTreeMap<String, String> {
    form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn decode_segment(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

/// Finds the route for a method and path; 404, 405 or 400 (bad connection id) otherwise.
pub fn route(method: &str, path_with_query: &str) -> Result<Route, Reply> {
    let (path, query) = path_with_query
        .split_once('?')
        .unwrap_or((path_with_query, ""));
    let trimmed = path.trim_end_matches('/');
    let segments: Vec<&str> = trimmed.split('/').skip(1).collect();
    let query_list: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let query = query_pairs(query);
    let allow = |allowed: &str, route: Route| {
        if allowed.split(", ").any(|m| m == method) {
            Ok(route)
        } else {
            Err(method_not_allowed(path, allowed))
        }
    };
    let connection = |raw: &str| ConnectionId::parse(raw).map_err(|e| error_reply(&e));
    match segments.as_slice() {
        ["health"] => allow("GET", Route::Health),
        ["webhooks", "lever", c] => allow("POST", Route::LeverWebhook(connection(c)?)),
        ["oauth", "callback"] => allow(
            "GET",
            Route::OAuthCallback(Callback {
                code: query.get("code").cloned(),
                state: query.get("state").cloned(),
                error: query.get("error").cloned(),
                error_description: query.get("error_description").cloned(),
            }),
        ),
        ["portal", c] => allow(
            "GET",
            Route::Portal(
                connection(c)?,
                PortalRoute::Page {
                    token: query.get("token").cloned(),
                },
            ),
        ),
        ["portal", c, action] => {
            let c = connection(c)?;
            let action = portal::Action::parse(action).ok_or_else(|| not_found(path))?;
            allow("POST", Route::Portal(c, PortalRoute::Action(action)))
        }
        ["portal-assets", name] => allow("GET", Route::PortalAsset(name.to_string())),
        ["tick"] => allow("POST", Route::Tick),
        ["connections", c, rest @ ..] => {
            let c = connection(c)?;
            let partner = |allowed: &str, route: PartnerRoute| {
                allow(allowed, Route::Partner(c.clone(), route))
            };
            match (method, rest) {
                ("GET", []) => partner("GET, DELETE", PartnerRoute::Status),
                (_, []) => partner(
                    "GET, DELETE",
                    PartnerRoute::Disconnect {
                        purge: query.get("purge").is_some_and(|v| v == "true" || v == "1"),
                    },
                ),
                (_, ["api-key"]) => partner("POST", PartnerRoute::ConnectApiKey),
                (_, ["oauth", "start"]) => partner("POST", PartnerRoute::OAuthStart),
                (_, ["lever", "stages"]) => partner("GET", PartnerRoute::LeverStages),
                (_, ["lever", "users"]) => partner("GET", PartnerRoute::LeverUsers),
                (_, ["lever", "postings"]) => partner(
                    "GET",
                    PartnerRoute::LeverPostings {
                        state: query.get("state").cloned(),
                    },
                ),
                ("GET", ["stage-map"]) => partner("GET, PUT", PartnerRoute::GetStageMap),
                (_, ["stage-map"]) => partner("GET, PUT", PartnerRoute::PutStageMap),
                (_, ["perform-as"]) => partner("PUT", PartnerRoute::PutPerformAs),
                (_, ["upload-stage"]) => partner("PUT", PartnerRoute::PutUploadStage),
                (_, ["roles"]) => partner("GET", PartnerRoute::ListRoles),
                ("DELETE", ["roles", role]) => partner(
                    "PUT, DELETE",
                    PartnerRoute::DeleteRole(decode_segment(role)),
                ),
                (_, ["roles", role]) => {
                    partner("PUT, DELETE", PartnerRoute::PutRole(decode_segment(role)))
                }
                (_, ["webhooks"]) => partner("POST", PartnerRoute::InstallWebhooks),
                ("GET", ["candidates", id, "link"]) => partner(
                    "GET, PUT",
                    PartnerRoute::GetCandidateLink(decode_segment(id)),
                ),
                (_, ["candidates", id, "link"]) => {
                    partner("GET, PUT", PartnerRoute::LinkCandidate(decode_segment(id)))
                }
                (_, ["candidates"]) => partner("POST", PartnerRoute::SubmitCandidate),
                (_, ["candidates", id, "stage"]) => {
                    partner("PUT", PartnerRoute::SetCandidateStage(decode_segment(id)))
                }
                (_, ["upload-tags"]) => partner("PUT", PartnerRoute::PutUploadTags),
                (_, ["rejection-reason"]) => partner("PUT", PartnerRoute::PutRejectionReason),
                (_, ["lever", "archive-reasons"]) => {
                    partner("GET", PartnerRoute::LeverArchiveReasons)
                }
                (_, ["reconcile"]) => partner("POST", PartnerRoute::Reconcile),
                (_, ["actions", action]) => {
                    partner("POST", PartnerRoute::Action(action.to_string()))
                }
                (_, ["proxy", ..]) => {
                    let method = match method {
                        "GET" => crate::io::Method::Get,
                        "POST" => crate::io::Method::Post,
                        "PUT" => crate::io::Method::Put,
                        "DELETE" => crate::io::Method::Delete,
                        "PATCH" => crate::io::Method::Patch,
                        _ => return Err(method_not_allowed(path, "GET, POST, PUT, DELETE, PATCH")),
                    };
                    let marker = format!("/connections/{c}/proxy");
                    let below = path
                        .split_once(marker.as_str())
                        .map_or("", |(_, rest)| rest)
                        .to_string();
                    Ok(Route::Partner(
                        c,
                        PartnerRoute::Proxy {
                            method,
                            path: below,
                            query: query_list,
                        },
                    ))
                }
                (_, ["portal-link"]) => partner("POST", PartnerRoute::PortalLink),
                (_, ["outbox"]) => partner("GET", PartnerRoute::Outbox),
                (_, ["audit"]) => partner("GET", PartnerRoute::Audit),
                (_, ["dead-letters"]) => partner("GET", PartnerRoute::DeadLetters),
                (_, ["dead-letters", token, "replay"]) => partner(
                    "POST",
                    PartnerRoute::ReplayDeadLetter(decode_segment(token)),
                ),
                (_, ["triggers"]) => partner("PUT", PartnerRoute::PutTriggers),
                (_, ["triggers", "poll"]) => partner("POST", PartnerRoute::PollPostings),
                (_, ["triggers", kind]) => partner(
                    "GET",
                    PartnerRoute::TriggerEvents {
                        kind: kind.to_string(),
                        cursor: query.get("cursor").cloned(),
                    },
                ),
                _ => Err(not_found(path)),
            }
        }
        _ => Err(not_found(path)),
    }
}

/// Checks the partner credential (`authorization: Bearer <partner_api_key>`) in constant
/// time. Nothing is read or written before this passes.
pub fn authenticate_partner(env: &Env, authorization: Option<&str>) -> Result<(), ConnectorError> {
    let expected = config::partner_api_key(env.config)?;
    let presented = authorization
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or_else(|| {
            ConnectorError::Unauthorized(
                "partner calls need `authorization: Bearer <partner API key>`".into(),
            )
        })?;
    if bool::from(presented.as_bytes().ct_eq(expected.expose().as_bytes())) {
        Ok(())
    } else {
        Err(ConnectorError::Unauthorized(
            "the partner API key does not match".into(),
        ))
    }
}

fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ConnectorError> {
    serde_json::from_slice(body).map_err(|e| {
        ConnectorError::InvalidInput(format!("the body is not the expected JSON: {e}"))
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ApiKeyBody {
    api_key: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PerformAsBody {
    user_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UploadStageBody {
    stage_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RoleBody {
    posting_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StageBody {
    #[serde(default)]
    stage: Option<String>,
    #[serde(default)]
    rejected: bool,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RejectionReasonBody {
    archive_reason_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LinkBody {
    opportunity_id: String,
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Handles a routed request whose body was read (within the route's limit); `headers` are
/// the request's headers.
pub fn respond(env: &Env, route: Route, headers: &[(String, String)], body: &[u8]) -> Reply {
    let authorization = header(headers, "authorization");
    let perform_as =
        header(headers, PERFORM_AS_HEADER).is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let dry_run = header(headers, crate::audit::DRY_RUN_HEADER)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let result = match route {
        Route::Health => Ok(Reply::json(200, &json!({ "status": "ok" }))),
        Route::LeverWebhook(c) => stage::handle_lever_webhook(env, &c, body).map(|receipt| {
            // 202: accepted, and waiting in the outbox.
            let status = if matches!(receipt.outcome, stage::Outcome::Queued(_)) {
                202
            } else {
                200
            };
            Reply::ok(status, &receipt)
        }),
        Route::Tick => authenticate_partner(env, authorization)
            .and_then(|()| outbox::tick(env))
            .map(|report| Reply::ok(200, &report)),
        Route::OAuthCallback(callback) => match auth::complete_oauth_from(env, &callback) {
            (Some((c, session)), result) => Ok(portal::oauth_returned(env, &c, &session, &result)),
            (None, result) => {
                result.map(|connected| Reply::ok(200, &json!({ "connected": connected })))
            }
        },
        Route::Portal(c, portal_route) => Ok(portal::respond(env, &c, portal_route, headers, body)),
        Route::PortalAsset(name) => match portal::asset(&name) {
            Some((content_type, text)) => Ok(Reply {
                status: 200,
                headers: vec![
                    ("content-type".into(), content_type.into()),
                    ("cache-control".into(), "public, max-age=3600".into()),
                    ("x-content-type-options".into(), "nosniff".into()),
                ],
                body: text.as_bytes().to_vec(),
            }),
            None => Err(ConnectorError::NotFound(format!("no portal asset {name}"))),
        },
        Route::Partner(
            c,
            PartnerRoute::Proxy {
                method,
                path,
                query,
            },
        ) => authenticate_partner(env, authorization).and_then(|()| {
            let recorder = audit::Recorder::new(
                env,
                &c,
                format!("partner call: proxy {} {path}", method.as_str()),
                dry_run,
            );
            let request = actions::ProxyRequest {
                method,
                path,
                query,
                body: (!body.is_empty()).then(|| String::from_utf8_lossy(body).into_owned()),
                perform_as,
            };
            let result = actions::proxy(&recorder.env(), &c, &request).map(|answer| Reply {
                status: answer.status,
                headers: Vec::new(),
                body: answer.body.into_bytes(),
            });
            rehearsed_or(&recorder, result)
        }),
        // A replay records its writes as an outbox attempt.
        Route::Partner(c, partner_route @ PartnerRoute::ReplayDeadLetter(_)) => {
            authenticate_partner(env, authorization)
                .and_then(|()| partner(env, &c, partner_route, body))
        }
        Route::Partner(c, partner_route) => {
            authenticate_partner(env, authorization).and_then(|()| {
                let recorder = audit::Recorder::new(
                    env,
                    &c,
                    format!("partner call: {partner_route:?}"),
                    dry_run,
                );
                let result = partner(&recorder.env(), &c, partner_route, body);
                rehearsed_or(&recorder, result)
            })
        }
    };
    result.unwrap_or_else(|error| error_reply(&error))
}

/// A dry run's answer (the write that was not sent) in place of the flow's, else the flow's.
fn rehearsed_or(
    recorder: &audit::Recorder,
    result: Result<Reply, ConnectorError>,
) -> Result<Reply, ConnectorError> {
    match recorder.rehearsed() {
        Some(rehearsed) => Ok(Reply::ok(200, &json!({ "dryRun": rehearsed }))),
        None => result,
    }
}

fn partner(
    env: &Env,
    c: &ConnectionId,
    route: PartnerRoute,
    body: &[u8],
) -> Result<Reply, ConnectorError> {
    Ok(match route {
        PartnerRoute::Status => Reply::ok(200, &status::status(env, c)?),
        PartnerRoute::Disconnect { purge } => Reply::ok(
            200,
            &json!({ "disconnected": setup::disconnect(env, c, purge)? }),
        ),
        PartnerRoute::ConnectApiKey => {
            let body: ApiKeyBody = parse_body(body)?;
            auth::connect_api_key(env, c, &body.api_key)?;
            Reply::ok(
                200,
                &json!({ "connected": { "connection": c, "auth": "api-key" } }),
            )
        }
        PartnerRoute::OAuthStart => {
            Reply::ok(200, &json!({ "authorizeUrl": auth::begin_oauth(env, c)? }))
        }
        PartnerRoute::LeverStages => {
            Reply::ok(200, &json!({ "data": setup::list_stages(env, c)? }))
        }
        PartnerRoute::LeverUsers => Reply::ok(200, &json!({ "data": setup::list_users(env, c)? })),
        PartnerRoute::LeverPostings { state } => Reply::ok(
            200,
            &json!({ "data": setup::list_postings(env, c, state.as_deref())? }),
        ),
        PartnerRoute::GetStageMap => Reply::ok(200, &setup::stage_map(env, c)?),
        PartnerRoute::PutStageMap => {
            let map: BTreeMap<String, String> = parse_body(body)?;
            let pairs: Vec<(String, String)> = map.into_iter().collect();
            Reply::ok(200, &setup::set_stage_map(env, c, &pairs)?)
        }
        PartnerRoute::PutPerformAs => {
            let body: PerformAsBody = parse_body(body)?;
            let user = setup::set_perform_as(env, c, &body.user_id)?;
            Reply::ok(200, &json!({ "performAs": user }))
        }
        PartnerRoute::PutUploadStage => {
            let body: UploadStageBody = parse_body(body)?;
            let stage = setup::set_upload_stage(env, c, body.stage_id.as_deref())?;
            Reply::ok(
                200,
                &json!({ "uploadStage": stage, "source": if stage.is_some() { "configured" } else { "default" } }),
            )
        }
        PartnerRoute::ListRoles => Reply::ok(200, &json!({ "data": setup::list_roles(env, c)? })),
        PartnerRoute::PutRole(role) => {
            let body: RoleBody = parse_body(body)?;
            let posting = setup::link_role(env, c, &role, &body.posting_id)?;
            Reply::ok(200, &json!({ "role": role, "posting": posting }))
        }
        PartnerRoute::DeleteRole(role) => {
            setup::unlink_role(env, c, &role)?;
            Reply::ok(200, &json!({ "unlinked": role }))
        }
        PartnerRoute::InstallWebhooks => Reply::ok(200, &webhooks::install(env, c)?),
        PartnerRoute::LinkCandidate(id) => {
            let body: LinkBody = parse_body(body)?;
            let opportunity = OpportunityId(body.opportunity_id);
            stage::link_candidate(env, c, &id, &opportunity)?;
            Reply::ok(
                200,
                &json!({ "partnerCandidateId": id, "opportunityId": opportunity }),
            )
        }
        PartnerRoute::GetCandidateLink(id) => {
            let store = crate::store::Store::new(env.kv).connection(c);
            match store.linked_opportunity(&id)? {
                Some(opportunity) => Reply::ok(
                    200,
                    &json!({ "partnerCandidateId": id, "opportunityId": opportunity }),
                ),
                None => {
                    return Err(ConnectorError::NotFound(format!(
                        "partner candidate {id} is not linked"
                    )))
                }
            }
        }
        PartnerRoute::SubmitCandidate => {
            let body: upload::SubmissionBody = parse_body(body)?;
            let submission = upload::Submission::try_from(body)?;
            let uploaded = upload::submit(env, c, &submission)?;
            Reply::ok(if uploaded.created { 201 } else { 200 }, &uploaded)
        }
        PartnerRoute::PutUploadTags => {
            let tags: Vec<String> = parse_body(body)?;
            setup::set_upload_tags(env, c, &tags)?;
            Reply::ok(200, &json!({ "uploadTags": tags }))
        }
        PartnerRoute::SetCandidateStage(id) => {
            let body: StageBody = parse_body(body)?;
            let partner_move = match (body.stage, body.rejected) {
                (Some(stage), false) => PartnerMove::Stage(stage),
                (None, true) => PartnerMove::Rejected {
                    reason: body.reason,
                },
                _ => {
                    return Err(ConnectorError::InvalidInput(
                        "send either {\"stage\": \"<partner stage>\"} or {\"rejected\": true, \"reason\"?: \"...\"}".into(),
                    ))
                }
            };
            Reply::ok(
                200,
                &partner_stage::set_candidate_stage(env, c, &id, &partner_move)?,
            )
        }
        PartnerRoute::PutRejectionReason => {
            let body: RejectionReasonBody = parse_body(body)?;
            let reason = setup::set_rejection_reason(env, c, &body.archive_reason_id)?;
            Reply::ok(200, &json!({ "rejectionReason": reason }))
        }
        PartnerRoute::LeverArchiveReasons => Reply::ok(
            200,
            &json!({ "data": setup::list_archive_reasons(env, c)? }),
        ),
        PartnerRoute::Reconcile => Reply::ok(200, &reconcile::reconcile(env, c)?),
        PartnerRoute::Action(action) => run_action(env, c, &action, body)?,
        PartnerRoute::PutTriggers => {
            let body: TriggersBody = parse_body(body)?;
            let kinds = body
                .enabled
                .iter()
                .map(|k| {
                    triggers::Kind::parse(k).ok_or_else(|| {
                        ConnectorError::InvalidInput(format!(
                            "{k:?} is not a trigger: candidate-created, candidate-updated, posting-created, posting-updated"
                        ))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            triggers::set_enabled(env, c, &kinds)?;
            Reply::ok(200, &json!({ "enabled": body.enabled }))
        }
        PartnerRoute::PollPostings => Reply::ok(200, &triggers::poll_postings(env, c)?),
        PartnerRoute::Outbox => Reply::ok(200, &json!({ "data": outbox::pending(env, c)? })),
        PartnerRoute::Audit => {
            Reply::ok(200, &json!({ "data": audit::recent(env, c, audit::KEEP)? }))
        }
        PartnerRoute::DeadLetters => {
            Reply::ok(200, &json!({ "data": outbox::dead_letters(env, c)? }))
        }
        PartnerRoute::ReplayDeadLetter(token) => Reply::ok(
            200,
            &json!({ "token": token, "state": outbox::replay(env, c, &token)? }),
        ),
        PartnerRoute::PortalLink => {
            let request: portal::LinkRequest = if body.is_empty() {
                portal::LinkRequest::default()
            } else {
                parse_body(body)?
            };
            Reply::ok(201, &portal::create_link(env, c, &request)?)
        }
        PartnerRoute::TriggerEvents { kind, cursor } => {
            let kind = triggers::Kind::parse(&kind)
                .ok_or_else(|| ConnectorError::NotFound(format!("no trigger {kind:?}")))?;
            Reply::ok(200, &triggers::poll(env, c, kind, cursor.as_deref())?)
        }
        PartnerRoute::Proxy { .. } => {
            return Err(ConnectorError::Internal(
                "the proxy is answered elsewhere".into(),
            ))
        }
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TriggersBody {
    enabled: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdBody {
    id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeBody<T> {
    id: String,
    changes: T,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    bound(deserialize = "F: Deserialize<'de> + Default")
)]
struct ListBody<F> {
    #[serde(default)]
    filter: F,
    #[serde(default)]
    page: actions::PageRequest,
}

/// `POST /connections/{c}/actions/{action}`: the nine actions, Lever's JSON out.
fn run_action(
    env: &Env,
    c: &ConnectionId,
    action: &str,
    body: &[u8],
) -> Result<Reply, ConnectorError> {
    let body = if body.is_empty() {
        b"{}".as_slice()
    } else {
        body
    };
    let data = |value: serde_json::Value| Reply::ok(200, &json!({ "data": value }));
    Ok(match action {
        "create-opportunity" => Reply::ok(201, &actions::create_opportunity(env, c, &parse_body(body)?)?),
        "get-opportunity" => data(actions::get_opportunity(env, c, &parse_body::<IdBody>(body)?.id)?),
        "list-opportunities" => {
            let list: ListBody<actions::OpportunityFilter> = parse_body(body)?;
            Reply::ok(200, &actions::list_opportunities(env, c, &list.filter, &list.page)?)
        }
        "get-contact" => data(actions::get_contact(env, c, &parse_body::<IdBody>(body)?.id)?),
        "update-contact" => {
            let change: ChangeBody<actions::ContactUpdate> = parse_body(body)?;
            data(actions::update_contact(env, c, &change.id, &change.changes)?)
        }
        "create-posting" => {
            let posting = actions::create_posting(env, c, &parse_body(body)?)?;
            Reply::ok(201, &json!({ "data": posting }))
        }
        "update-posting" => {
            let change: ChangeBody<actions::PostingUpdate> = parse_body(body)?;
            data(actions::update_posting(env, c, &change.id, &change.changes)?)
        }
        "get-posting" => data(actions::get_posting(env, c, &parse_body::<IdBody>(body)?.id)?),
        "list-postings" => {
            let list: ListBody<actions::PostingFilter> = parse_body(body)?;
            Reply::ok(200, &actions::list_postings(env, c, &list.filter, &list.page)?)
        }
        other => {
            return Err(ConnectorError::NotFound(format!(
                "no action {other:?}: create-opportunity, get-opportunity, list-opportunities, get-contact, update-contact, create-posting, update-posting, get-posting, list-postings"
            )))
        }
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::fake::{FakeConfig, World};

    #[test]
    fn accept_keeps_only_the_headers_respond_reads() {
        let request = http::Request::post("/webhooks/lever/acme?x=1")
            .header("Authorization", "Bearer k")
            .header("lever-perform-as", "true")
            .header("cookie", "lever_portal=s")
            .header("x-other", "1")
            .body(())
            .unwrap();
        let (route, headers) = accept_http(&request).unwrap();
        assert!(matches!(route, Route::LeverWebhook(_)));
        assert_eq!(
            headers,
            [
                ("authorization".to_string(), "Bearer k".to_string()),
                ("lever-perform-as".to_string(), "true".to_string()),
                ("cookie".to_string(), "lever_portal=s".to_string())
            ]
        );
        let not_utf8: &[u8] = &[0xff, 0xfe];
        let (_, headers) = accept("GET", "/health", [("authorization", not_utf8)]).unwrap();
        assert!(headers.is_empty());
        assert_eq!(accept("GET", "/nowhere", []).unwrap_err().status, 404);
    }

    #[test]
    fn routes_match_method_and_path() {
        let acme = ConnectionId::parse("acme").unwrap();
        assert_eq!(
            route("POST", "/webhooks/lever/acme/?x=1"),
            Ok(Route::LeverWebhook(acme.clone()))
        );
        assert_eq!(route("GET", "/health"), Ok(Route::Health));
        assert_eq!(
            route("GET", "/webhooks/lever/acme").unwrap_err().status,
            405
        );
        assert_eq!(route("POST", "/webhooks/lever").unwrap_err().status, 404);
        assert_eq!(
            route("POST", "/webhooks/lever/a%2Fb").unwrap_err().status,
            400
        );
        assert_eq!(
            route("DELETE", "/connections/acme?purge=true"),
            Ok(Route::Partner(
                acme.clone(),
                PartnerRoute::Disconnect { purge: true }
            ))
        );
        assert_eq!(
            route("PUT", "/connections/acme/roles/role%201"),
            Ok(Route::Partner(
                acme.clone(),
                PartnerRoute::PutRole("role 1".into())
            ))
        );
        assert_eq!(
            route("GET", "/connections/acme/lever/postings?state=published"),
            Ok(Route::Partner(
                acme,
                PartnerRoute::LeverPostings {
                    state: Some("published".into())
                }
            ))
        );
        assert_eq!(
            route("GET", "/connections/acme/api-key")
                .unwrap_err()
                .status,
            405
        );
        match route("GET", "/oauth/callback?code=c&state=s") {
            Ok(Route::OAuthCallback(cb)) => {
                assert_eq!(cb.code.as_deref(), Some("c"));
                assert_eq!(cb.state.as_deref(), Some("s"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn partner_routes_need_the_partner_key_before_anything_else() {
        let world = World::new(
            FakeConfig::from_pairs(&[("partner_api_key", "pk-planted")]),
            0,
        );
        let route = route("PUT", "/connections/acme/stage-map").unwrap();
        let body = br#"{"lead-new":"sourced"}"#;
        for auth in [None, Some("Bearer wrong"), Some("Basic cGstcGxhbnRlZA==")] {
            let headers: Vec<(String, String)> = auth
                .map(|a| ("authorization".to_string(), a.to_string()))
                .into_iter()
                .collect();
            let reply = respond(&world.env(), route.clone(), &headers, body);
            assert_eq!(reply.status, 401, "{auth:?}");
            assert!(!String::from_utf8_lossy(&reply.body).contains("pk-planted"));
        }
        assert!(world.kv.0.borrow().is_empty());
        let headers = [("authorization".to_string(), "Bearer pk-planted".to_string())];
        let reply = respond(&world.env(), route, &headers, body);
        assert_eq!(
            reply.status,
            200,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
        assert!(!world.kv.0.borrow().is_empty());
    }

    #[test]
    fn polling_without_enabled_triggers_is_not_configured() {
        let world = World::new(FakeConfig::from_pairs(&[("partner_api_key", "pk")]), 0);
        let route = route("POST", "/connections/acme/triggers/poll").unwrap();
        let headers = [("authorization".to_string(), "Bearer pk".to_string())];
        let reply = respond(&world.env(), route, &headers, b"{}");
        assert_eq!(reply.status, 503, "no trigger enabled");
    }

    #[test]
    fn rate_limits_carry_retry_after_in_seconds() {
        let reply = error_reply(&ConnectorError::RateLimited {
            retry_after_ms: Some(1500),
        });
        assert_eq!(reply.status, 429);
        assert_eq!(reply.headers, vec![("retry-after".into(), "2".into())]);
    }
}
