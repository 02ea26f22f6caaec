//! The HTTP face: routes, partner authentication, and the one mapping of results to status
//! codes and JSON bodies. The WASI adapter reads the request and writes the reply;
//! everything else is here.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::json;
use subtle::ConstantTimeEq as _;

use crate::actions;
use crate::audit;
use crate::auth::{self, Callback};
use crate::config;
use crate::error::ConnectorError;
use crate::io::Env;
use crate::lever::webhook::MAX_BODY_BYTES;
use crate::ops;
use crate::outbox;
use crate::portal::{self, PortalRoute};
use crate::store::ConnectionId;
use crate::sync::stage;

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

/// A partner route under `/connections/{connection}`: an operation with the input the path
/// and query give (the body is merged in by [`respond`]), or the raw proxy.
#[derive(Debug, Clone, PartialEq)]
pub enum PartnerRoute {
    /// An operation of [`crate::ops`].
    Op {
        /// Its name.
        name: String,
        /// Input fields from the path and query.
        fields: serde_json::Map<String, serde_json::Value>,
    },
    /// `{METHOD} /connections/{c}/proxy/{path}?{query}`: below the Lever API root, Lever's
    /// answer passed through as it is.
    Proxy {
        /// The method.
        method: crate::io::Method,
        /// The path below the API root, as sent (still percent-encoded).
        path: String,
        /// The query pairs.
        query: Vec<(String, String)>,
    },
}

impl PartnerRoute {
    fn op(name: &str) -> Self {
        PartnerRoute::Op {
            name: name.to_string(),
            fields: serde_json::Map::new(),
        }
    }

    fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        if let PartnerRoute::Op { fields, .. } = &mut self {
            fields.insert(key.to_string(), value.into());
        }
        self
    }

    fn with_opt(self, key: &str, value: Option<&String>) -> Self {
        match value {
            Some(value) => self.with(key, value.clone()),
            None => self,
        }
    }
}

/// A route of the HTTP face.
#[derive(Debug, Clone, PartialEq)]
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
    /// `GET /actions`: every action with the JSON Schemas of its input and output (partner
    /// credential).
    Actions,
}

impl Route {
    /// The largest body the route accepts, in bytes.
    pub fn max_body_bytes(&self) -> usize {
        match self {
            Route::LeverWebhook(_) => MAX_BODY_BYTES,
            Route::Health
            | Route::OAuthCallback(_)
            | Route::PortalAsset(_)
            | Route::Tick
            | Route::Actions => 0,
            Route::Portal(..) => portal::MAX_FORM_BYTES,
            Route::Partner(_, PartnerRoute::Op { name, .. })
                if name == "submit-candidate" || name == "upload-file" =>
            {
                MAX_SUBMISSION_BYTES
            }
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
        ["actions"] => allow("GET", Route::Actions),
        ["connections", c, rest @ ..] => {
            let c = connection(c)?;
            let partner = |allowed: &str, route: PartnerRoute| {
                allow(allowed, Route::Partner(c.clone(), route))
            };
            let op = PartnerRoute::op;
            match (method, rest) {
                ("GET", []) => partner("GET, DELETE", op("get-status")),
                (_, []) => partner(
                    "GET, DELETE",
                    op("disconnect").with(
                        "purge",
                        query.get("purge").is_some_and(|v| v == "true" || v == "1"),
                    ),
                ),
                (_, ["api-key"]) => partner("POST", op("connect-api-key")),
                (_, ["oauth", "start"]) => partner("POST", op("begin-oauth")),
                (_, ["lever", "stages"]) => partner("GET", op("list-lever-stages")),
                (_, ["lever", "users"]) => partner("GET", op("list-lever-users")),
                (_, ["lever", "postings"]) => partner(
                    "GET",
                    op("list-lever-postings").with_opt("state", query.get("state")),
                ),
                (_, ["lever", "archive-reasons"]) => {
                    partner("GET", op("list-lever-archive-reasons"))
                }
                ("GET", ["stage-map"]) => partner("GET, PUT", op("get-stage-map")),
                (_, ["stage-map"]) => partner("GET, PUT", op("set-stage-map")),
                (_, ["perform-as"]) => partner("PUT", op("set-perform-as")),
                (_, ["environment"]) => partner("PUT", op("set-environment")),
                (_, ["upload-stage"]) => partner("PUT", op("set-upload-stage")),
                (_, ["upload-tags"]) => partner("PUT", op("set-upload-tags")),
                (_, ["rejection-reason"]) => partner("PUT", op("set-rejection-reason")),
                (_, ["roles"]) => partner("GET", op("list-roles")),
                ("DELETE", ["roles", role]) => partner(
                    "PUT, DELETE",
                    op("unlink-role").with("role", decode_segment(role)),
                ),
                (_, ["roles", role]) => partner(
                    "PUT, DELETE",
                    op("link-role").with("role", decode_segment(role)),
                ),
                (_, ["webhooks"]) => partner("POST", op("install-webhooks")),
                ("GET", ["candidates", id, "link"]) => partner(
                    "GET, PUT",
                    op("get-candidate-link").with("partnerCandidateId", decode_segment(id)),
                ),
                (_, ["candidates", id, "link"]) => partner(
                    "GET, PUT",
                    op("link-candidate").with("partnerCandidateId", decode_segment(id)),
                ),
                (_, ["opportunities", id, "link"]) => partner(
                    "GET",
                    op("get-linked-candidate").with("opportunityId", decode_segment(id)),
                ),
                (_, ["candidates"]) => partner("POST", op("submit-candidate")),
                (_, ["candidates", id, "stage"]) => partner(
                    "PUT",
                    op("set-candidate-stage").with("partnerCandidateId", decode_segment(id)),
                ),
                (_, ["candidates", id, "notes"]) => partner(
                    "POST",
                    op("add-candidate-note").with("partnerCandidateId", decode_segment(id)),
                ),
                (_, ["candidates", id, "reject"]) => partner(
                    "POST",
                    op("reject-candidate").with("partnerCandidateId", decode_segment(id)),
                ),
                (_, ["reconcile"]) => partner("POST", op("reconcile")),
                (_, ["interview-feedback"]) => partner("PUT", op("set-interview-feedback")),
                (_, ["actions", action]) => partner("POST", op(&decode_segment(action))),
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
                (_, ["portal-link"]) => partner("POST", op("create-portal-link")),
                (_, ["outbox"]) => partner("GET", op("list-outbox")),
                (_, ["audit"]) => partner("GET", op("list-audit")),
                (_, ["dead-letters"]) => partner("GET", op("list-dead-letters")),
                (_, ["dead-letters", token, "replay"]) => partner(
                    "POST",
                    op("replay-dead-letter").with("token", decode_segment(token)),
                ),
                (_, ["triggers"]) => partner("PUT", op("enable-triggers")),
                (_, ["triggers", "poll"]) => partner("POST", op("poll-postings")),
                (_, ["triggers", kind]) => partner(
                    "GET",
                    op("poll-trigger")
                        .with("trigger", decode_segment(kind))
                        .with_opt("cursor", query.get("cursor")),
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

/// An operation's input: the body's JSON (`{}` when empty) with the path's and query's
/// fields merged in (a body field that names one of them differently is refused).
fn op_input(
    fields: serde_json::Map<String, serde_json::Value>,
    body: &[u8],
) -> Result<serde_json::Value, ConnectorError> {
    let mut input: serde_json::Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(body).map_err(|e| {
            ConnectorError::InvalidInput(format!("the body is not the expected JSON: {e}"))
        })?
    };
    if fields.is_empty() {
        return Ok(input);
    }
    let object = input
        .as_object_mut()
        .ok_or_else(|| ConnectorError::InvalidInput("the body must be a JSON object".into()))?;
    for (key, value) in fields {
        match object.get(&key) {
            Some(given) if *given != value => {
                return Err(ConnectorError::InvalidInput(format!(
                    "{key} is given by the path; the body says otherwise"
                )))
            }
            _ => {
                object.insert(key, value);
            }
        }
    }
    Ok(input)
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
        Route::Actions => authenticate_partner(env, authorization)
            .map(|()| Reply::ok(200, &json!({ "data": ops::actions() }))),
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
                headers: answer
                    .content_type
                    .map(|t| vec![("content-type".to_string(), t)])
                    .unwrap_or_default(),
                body: answer.body,
            });
            match recorder.rehearsed() {
                Some(rehearsed) => Ok(Reply::ok(200, &json!({ "dryRun": rehearsed }))),
                None => result,
            }
        }),
        Route::Partner(c, PartnerRoute::Op { name, fields }) => {
            authenticate_partner(env, authorization).and_then(|()| {
                let subject: Vec<&str> = fields.values().filter_map(|v| v.as_str()).collect();
                let subject = subject.join(" ");
                let input = op_input(fields, body)?;
                let called = ops::Called {
                    face: ops::Face::Http,
                    subject: &subject,
                    dry_run,
                };
                let (status, answer) = ops::invoke(env, &c, &name, &input, called)?;
                Ok(Reply::json(status, &answer))
            })
        }
    };
    result.unwrap_or_else(|error| error_reply(&error))
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
                PartnerRoute::op("disconnect").with("purge", true)
            ))
        );
        assert_eq!(
            route("PUT", "/connections/acme/roles/role%201"),
            Ok(Route::Partner(
                acme.clone(),
                PartnerRoute::op("link-role").with("role", "role 1")
            ))
        );
        assert_eq!(
            route("GET", "/connections/acme/lever/postings?state=published"),
            Ok(Route::Partner(
                acme,
                PartnerRoute::op("list-lever-postings").with("state", "published")
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
