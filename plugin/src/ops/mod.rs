//! The operation layer: every operation on a connection, once. Each one owns its input (a
//! JSON object, checked), its defaults, its audit policy and the JSON it answers; the faces
//! only carry it:
//! - the HTTP face maps a route to an operation and its input (path, query and body merged);
//! - the WIT `operations` interface invokes one by name (`lever-host call` uses it), and the
//!   typed WIT functions run the same code under the same audit policy ([`perform`]);
//! - `GET /actions` lists the actions with JSON Schemas of their input and output.
//!
//! The operations are the fixed ones below (connection set-up, the marketplace sync,
//! triggers, the outbox, the nine typed actions and the proxy) and one per Lever endpoint of
//! the [`catalog`].

pub mod catalog;
pub mod params;

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::actions;
use crate::audit;
use crate::auth;
use crate::config;
use crate::error::ConnectorError;
use crate::io::{Env, Method};
use crate::lever::OpportunityId;
use crate::outbox;
use crate::portal;
use crate::setup::{self, status, webhooks};
use crate::store::ConnectionId;
use crate::sync::partner_stage::{self, PartnerMove};
use crate::sync::{notes, reconcile, stage, upload};
use crate::triggers;
use catalog::Endpoint;
use params::{opt, req, Kind, Param};

/// What an operation is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Group {
    /// Connecting a Lever account and setting it up.
    Connection,
    /// The marketplace sync: candidates, links, stages.
    Marketplace,
    /// Triggers on candidate and posting changes.
    Triggers,
    /// The outbox and the audit trail.
    Outbox,
    /// A Lever action (the nine typed ones, the proxy, and the catalog's).
    Action,
}

/// How a `lever-host call` argument becomes part of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    /// A required text field.
    Field(&'static str),
    /// An optional text field.
    OptField(&'static str),
    /// The whole input, as JSON text (optional: `{}`).
    Input,
    /// The whole input, read from a JSON file.
    InputFile,
    /// The rest of the arguments, as a list field.
    Rest(&'static str),
    /// A secret field: `-` reads it from this environment variable.
    Secret(&'static str, &'static str),
    /// A boolean field set by this word.
    Flag(&'static str, &'static str),
}

/// How an operation's writes are recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audit {
    /// Every write it makes goes to the audit trail under the call's cause.
    Recorded,
    /// It records its writes as an outbox attempt (a dead-letter replay).
    AsOutbox,
}

/// The face an operation was called through (named in the audit trail).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Face {
    /// The HTTP face (a partner call).
    Http,
    /// The WIT exports (and `lever-host call` through them).
    Typed,
}

impl Face {
    fn cause(self, name: &str, subject: &str) -> String {
        let face = match self {
            Face::Http => "partner call",
            Face::Typed => "typed call",
        };
        if subject.is_empty() {
            format!("{face}: {name}")
        } else {
            format!("{face}: {name} {subject}")
        }
    }
}

/// An operation's input, for its JSON Schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// An object with these fields.
    Fields(&'static [Param]),
    /// An object of text values (the stage map).
    TextMap,
    /// A list of strings.
    Texts,
}

type Run = fn(&Env, &ConnectionId, &Value) -> Result<(u16, Value), ConnectorError>;

/// One fixed operation.
#[derive(Clone, Copy)]
#[allow(missing_debug_implementations)]
pub struct Fixed {
    /// Its name.
    pub name: &'static str,
    /// What it is for.
    pub group: Group,
    /// What it does.
    pub summary: &'static str,
    /// Its input.
    pub input: Input,
    /// `lever-host call`'s arguments after the connection.
    pub args: &'static [Arg],
    /// How its writes are recorded.
    pub audit: Audit,
    /// Whether it changes anything (in Lever, at the partner or in the store).
    pub writes: bool,
    run: Run,
}

/// An operation: fixed, or a Lever endpoint of the catalog.
#[derive(Clone, Copy)]
pub enum Op {
    /// A fixed operation.
    Fixed(&'static Fixed),
    /// A catalog endpoint.
    Lever(&'static Endpoint),
}

impl std::fmt::Debug for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

const INPUT: &[Arg] = &[Arg::Input];

impl Op {
    /// Its name.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Fixed(f) => f.name,
            Op::Lever(e) => e.action,
        }
    }

    /// What it is for.
    pub fn group(&self) -> Group {
        match self {
            Op::Fixed(f) => f.group,
            Op::Lever(_) => Group::Action,
        }
    }

    /// What it does.
    pub fn summary(&self) -> &'static str {
        match self {
            Op::Fixed(f) => f.summary,
            Op::Lever(e) => e.summary,
        }
    }

    /// `lever-host call`'s arguments after the connection.
    pub fn args(&self) -> &'static [Arg] {
        match self {
            Op::Fixed(f) => f.args,
            Op::Lever(_) => INPUT,
        }
    }

    /// Whether it changes anything.
    pub fn writes(&self) -> bool {
        match self {
            Op::Fixed(f) => f.writes,
            Op::Lever(e) => e.writes(),
        }
    }

    fn audit(&self) -> Audit {
        match self {
            Op::Fixed(f) => f.audit,
            Op::Lever(_) => Audit::Recorded,
        }
    }

    /// The JSON Schema of its input.
    pub fn input_schema(&self) -> Value {
        match self {
            Op::Fixed(f) => match f.input {
                Input::Fields(fields) => params::object_schema(fields),
                Input::TextMap => json!({
                    "type": "object",
                    "additionalProperties": { "type": "string" },
                }),
                Input::Texts => json!({ "type": "array", "items": { "type": "string" } }),
            },
            Op::Lever(e) => params::object_schema(&e.params()),
        }
    }

    /// The JSON Schema of its answer.
    pub fn output_schema(&self) -> Value {
        match self {
            Op::Lever(e) => catalog::output_schema(e),
            Op::Fixed(f) => match f.name {
                "create-opportunity" => json!({
                    "type": "object",
                    "properties": {
                        "data": { "type": "object", "description": "the opportunity, as Lever shows it" },
                        "deduped": { "type": "boolean", "description": "Lever attached it to an existing contact" },
                    },
                    "required": ["data", "deduped"],
                }),
                "list-opportunities" | "list-postings" => catalog::output_schema(&LIST_SHAPE),
                "proxy" => json!({
                    "type": "object",
                    "properties": {
                        "status": { "type": "integer" },
                        "contentType": { "type": "string" },
                        "body": { "description": "Lever's answer: JSON when it is JSON, else text" },
                    },
                    "required": ["status", "body"],
                }),
                _ if f.group == Group::Action => catalog::output_schema(&OBJECT_SHAPE),
                _ => json!({ "type": "object" }),
            },
        }
    }

    /// Runs it for a connection with its checks and defaults, but no audit (see [`invoke`]).
    fn run(
        &self,
        env: &Env,
        c: &ConnectionId,
        input: &Value,
    ) -> Result<(u16, Value), ConnectorError> {
        match self {
            Op::Fixed(f) => {
                if let Input::Fields(fields) = f.input {
                    let refs: Vec<&Param> = fields.iter().collect();
                    params::check(input, &refs)?;
                }
                (f.run)(env, c, input)
            }
            Op::Lever(e) => catalog::run(env, c, e, input),
        }
    }
}

const LIST_SHAPE: Endpoint = catalog::Endpoint {
    action: "",
    summary: "",
    method: Method::Get,
    path: "",
    query: &[],
    body: &[],
    perform_as: catalog::PerformAs::No,
    scope: "",
    answer: catalog::Answer::List,
};
const OBJECT_SHAPE: Endpoint = Endpoint {
    answer: catalog::Answer::Object,
    ..LIST_SHAPE
};

/// Every operation: the fixed ones, then the catalog's, in a fixed order (the WIT
/// `operation` enum's).
pub fn all() -> impl Iterator<Item = Op> {
    FIXED
        .iter()
        .map(Op::Fixed)
        .chain(catalog::ENDPOINTS.iter().map(Op::Lever))
}

/// The operation of a name.
pub fn find(name: &str) -> Option<Op> {
    all().find(|op| op.name() == name)
}

fn unknown(name: &str) -> ConnectorError {
    ConnectorError::NotFound(format!(
        "no operation {name:?} (GET /actions lists the actions; `lever-host call --help` every operation)"
    ))
}

/// How an operation is called: through which face, about what (named in the audit trail,
/// such as the candidate of `PUT /connections/{c}/candidates/{id}/stage`), and whether as a
/// dry run.
#[derive(Debug, Clone, Copy)]
pub struct Called<'a> {
    /// The face.
    pub face: Face,
    /// What the call is about, for the audit trail ("" for nothing in particular).
    pub subject: &'a str,
    /// Rehearse the first write instead of sending it.
    pub dry_run: bool,
}

impl Called<'_> {
    /// A typed call (no subject, no dry run).
    pub const TYPED: Called<'static> = Called {
        face: Face::Typed,
        subject: "",
        dry_run: false,
    };
}

/// Runs an operation by name for a connection, recording its writes as the operation's
/// audit policy says (a dry run answers the write it did not send): `(status, answer)`.
pub fn invoke(
    env: &Env,
    c: &ConnectionId,
    name: &str,
    input: &Value,
    called: Called,
) -> Result<(u16, Value), ConnectorError> {
    let op = find(name).ok_or_else(|| unknown(name))?;
    match op.audit() {
        Audit::AsOutbox => op.run(env, c, input),
        Audit::Recorded => {
            let cause = called.face.cause(name, called.subject);
            let recorder = audit::Recorder::new(env, c, cause, called.dry_run);
            let result = op.run(&recorder.env(), c, input);
            match recorder.rehearsed() {
                Some(rehearsed) => Ok((200, json!({ "dryRun": rehearsed }))),
                None => result,
            }
        }
    }
}

/// Runs typed code for operation `name` under the operation's audit policy: the typed WIT
/// functions call the same logic as [`invoke`], recorded the same way.
pub fn perform<T>(
    env: &Env,
    c: &ConnectionId,
    name: &str,
    face: Face,
    f: impl FnOnce(&Env, &ConnectionId) -> Result<T, ConnectorError>,
) -> Result<T, ConnectorError> {
    let op = find(name).ok_or_else(|| unknown(name))?;
    match op.audit() {
        Audit::AsOutbox => f(env, c),
        Audit::Recorded => {
            let recorder = audit::Recorder::new(env, c, face.cause(name, ""), false);
            f(&recorder.env(), c)
        }
    }
}

/// One action as `GET /actions` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionInfo {
    /// The name (`POST /connections/{c}/actions/{name}`).
    pub name: &'static str,
    /// What it does.
    pub summary: &'static str,
    /// Whether it changes anything in Lever.
    pub writes: bool,
    /// Lever's method and path, for catalog actions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lever: Option<String>,
    /// The OAuth scope it needs, for catalog actions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<&'static str>,
    /// Whether the write is attributed to the connection's `perform_as` user.
    pub perform_as: bool,
    /// JSON Schema of the input.
    pub input: Value,
    /// JSON Schema of the answer.
    pub output: Value,
}

/// Every action (the nine, the proxy and the catalog's), with schemas.
pub fn actions() -> Vec<ActionInfo> {
    all()
        .filter(|op| op.group() == Group::Action)
        .map(|op| ActionInfo {
            name: op.name(),
            summary: op.summary(),
            writes: op.writes(),
            lever: match op {
                Op::Lever(e) => Some(format!("{} /{}", e.method.as_str(), e.path)),
                Op::Fixed(_) => None,
            },
            scope: match op {
                Op::Lever(e) => Some(e.scope),
                Op::Fixed(_) => None,
            },
            perform_as: match op {
                Op::Lever(e) => e.perform_as == catalog::PerformAs::Required,
                // The fixed actions that write as the connection's user.
                Op::Fixed(f) => matches!(
                    f.name,
                    "create-opportunity" | "create-posting" | "update-posting" | "upload-file"
                ),
            },
            input: op.input_schema(),
            output: op.output_schema(),
        })
        .collect()
}

// ---- the fixed operations ----

fn parse<T: DeserializeOwned>(input: &Value) -> Result<T, ConnectorError> {
    T::deserialize(input).map_err(|e| {
        ConnectorError::InvalidInput(format!("the input is not the expected JSON: {e}"))
    })
}

fn ok<T: Serialize>(value: T) -> Result<(u16, Value), ConnectorError> {
    answer(200, value)
}

fn answer<T: Serialize>(status: u16, value: T) -> Result<(u16, Value), ConnectorError> {
    serde_json::to_value(value)
        .map(|v| (status, v))
        .map_err(|e| ConnectorError::Internal(format!("encoding the answer: {e}")))
}

fn text<'a>(input: &'a Value, key: &str) -> &'a str {
    input.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn opt_text<'a>(input: &'a Value, key: &str) -> Option<&'a str> {
    input.get(key).and_then(Value::as_str)
}

fn data<T: Serialize>(value: T) -> Result<(u16, Value), ConnectorError> {
    ok(json!({ "data": value }))
}

const ID: &[Param] = &[req("id", Kind::Text, "the Lever id")];
const CHANGE: &[Param] = &[
    req("id", Kind::Text, "the Lever id"),
    req(
        "changes",
        Kind::Object,
        "the fields to change; those left out are kept",
    ),
];
const NO_INPUT: &[Param] = &[];

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

/// A candidate move: `{stage}` or `{rejected: true, reason?}`.
pub fn candidate_move(input: &Value) -> Result<PartnerMove, ConnectorError> {
    let rejected = input
        .get("rejected")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    match (opt_text(input, "stage"), rejected) {
        (Some(stage), false) => Ok(PartnerMove::Stage(stage.to_string())),
        (None, true) => Ok(PartnerMove::Rejected {
            reason: opt_text(input, "reason").map(String::from),
        }),
        _ => Err(ConnectorError::InvalidInput(
            "send either {\"stage\": \"<partner stage>\"} or {\"rejected\": true, \"reason\"?: \"...\"}".into(),
        )),
    }
}

/// The trigger kinds of a list of names.
pub fn trigger_kinds(names: &[String]) -> Result<Vec<triggers::Kind>, ConnectorError> {
    names
        .iter()
        .map(|k| {
            triggers::Kind::parse(k).ok_or_else(|| {
                ConnectorError::InvalidInput(format!(
                    "{k:?} is not a trigger: candidate-created, candidate-updated, posting-created, posting-updated"
                ))
            })
        })
        .collect()
}

/// The proxy's input.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ProxyInput {
    method: String,
    path: String,
    #[serde(default)]
    query: BTreeMap<String, Value>,
    #[serde(default)]
    body: Option<Value>,
    #[serde(default)]
    perform_as: bool,
}

/// An HTTP method by name.
pub fn method(name: &str) -> Result<Method, ConnectorError> {
    match name.to_ascii_uppercase().as_str() {
        "GET" => Ok(Method::Get),
        "POST" => Ok(Method::Post),
        "PUT" => Ok(Method::Put),
        "DELETE" => Ok(Method::Delete),
        "PATCH" => Ok(Method::Patch),
        other => Err(ConnectorError::InvalidInput(format!(
            "method {other:?}: GET, POST, PUT, DELETE or PATCH"
        ))),
    }
}

/// The proxy's answer as JSON: Lever's body parsed when it is JSON.
pub fn proxy_json(answer: &actions::ProxyResponse) -> Value {
    json!({
        "status": answer.status,
        "contentType": answer.content_type,
        "body": serde_json::from_slice::<Value>(&answer.body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&answer.body).into_owned())),
    })
}

fn proxy(env: &Env, c: &ConnectionId, input: &Value) -> Result<(u16, Value), ConnectorError> {
    let input: ProxyInput = parse(input)?;
    let (path, inline) = input
        .path
        .split_once('?')
        .map_or((input.path.as_str(), ""), |(p, q)| (p, q));
    let mut query: Vec<(String, String)> = form_urlencoded::parse(inline.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    for (key, value) in &input.query {
        query.extend(
            params::query_values(value)
                .into_iter()
                .map(|v| (key.clone(), v)),
        );
    }
    let request = actions::ProxyRequest {
        method: method(&input.method)?,
        path: path.to_string(),
        query,
        body: input.body.map(|b| match b {
            Value::String(text) => text,
            other => other.to_string(),
        }),
        perform_as: input.perform_as,
    };
    ok(proxy_json(&actions::proxy(env, c, &request)?))
}

macro_rules! fixed {
    ($name:literal, $group:ident, $writes:literal, $input:expr, [$($arg:expr),*], $summary:literal, $run:expr) => {
        Fixed {
            name: $name,
            group: Group::$group,
            summary: $summary,
            input: $input,
            args: &[$($arg),*],
            audit: Audit::Recorded,
            writes: $writes,
            run: $run,
        }
    };
}

use Arg::{Field, Flag, InputFile, OptField, Rest, Secret};
use Input::Fields;

const NEW_OPPORTUNITY: &[Param] = &[
    req("name", Kind::Text, "the candidate's name"),
    opt("headline", Kind::Text, "headline"),
    opt(
        "emails",
        Kind::Texts,
        "email addresses (an existing contact with one of them is reused by Lever)",
    ),
    opt("phones", Kind::Objects, "[{type?, value}] phone numbers"),
    opt("links", Kind::Texts, "links"),
    opt("location", Kind::Text, "location"),
    opt(
        "stage",
        Kind::Text,
        "initial stage (Lever's default is lead-new)",
    ),
    opt("posting", Kind::Text, "the posting to apply to"),
    opt("sources", Kind::Texts, "sources"),
    opt("tags", Kind::Texts, "tags"),
    opt(
        "origin",
        Kind::Text,
        "agency, applied, internal, referred, sourced or university",
    ),
];
const NEW_POSTING: &[Param] = &[
    req("text", Kind::Text, "the job title"),
    opt(
        "state",
        Kind::Text,
        "initial state (Lever's default is draft)",
    ),
    opt(
        "categories",
        Kind::Object,
        "{team?, department?, location?, commitment?, level?}",
    ),
    opt("tags", Kind::Texts, "tags"),
    opt("description", Kind::Text, "plain-text description"),
    opt("workplaceType", Kind::Text, "onsite, remote or hybrid"),
    opt("owner", Kind::Text, "the owner's Lever user id"),
    opt(
        "hiringManager",
        Kind::Text,
        "the hiring manager's Lever user id",
    ),
];
const LIST: &[Param] = &[
    opt(
        "filter",
        Kind::Object,
        "Lever's filters, camelCase (see the README's action table)",
    ),
    actions_page(),
];
const fn actions_page() -> Param {
    catalog::PAGE
}
const PROXY: &[Param] = &[
    req("method", Kind::Text, "GET, POST, PUT, DELETE or PATCH"),
    req(
        "path",
        Kind::Text,
        "the path below the Lever API root, such as /opportunities/ID/notes (a query may follow ?)",
    ),
    opt(
        "query",
        Kind::Object,
        "query parameters (a list repeats the key)",
    ),
    opt("body", Kind::Any, "the JSON body"),
    opt(
        "performAs",
        Kind::Bool,
        "add perform_as=<the connection's user>",
    ),
];
const SUBMISSION: &[Param] = &[
    req(
        "partnerCandidateId",
        Kind::Text,
        "the candidate's id on the partner platform",
    ),
    req(
        "partnerRoleId",
        Kind::Text,
        "the partner role (linked to a Lever posting)",
    ),
    req("name", Kind::Text, "the candidate's name"),
    opt("emails", Kind::Texts, "email addresses"),
    opt("phones", Kind::Objects, "[{type?, value}] phone numbers"),
    opt("linkedinUrl", Kind::Text, "LinkedIn profile"),
    opt(
        "applicationUrl",
        Kind::Text,
        "the application on the partner platform",
    ),
    opt("note", Kind::Text, "a note added to the opportunity"),
    opt(
        "resume",
        Kind::Object,
        "{fileName, contentType?, contentBase64 | url}",
    ),
];

/// The fixed operations, in the WIT enum's order.
pub const FIXED: &[Fixed] = &[
    // ---- connection ----
    fixed!("get-status", Connection, false, Fields(NO_INPUT), [], "The connection's health: credentials, webhooks, maps, outbox.", |env, c, _| ok(status::status(env, c)?)),
    fixed!("connect-api-key", Connection, true, Fields(&[req("apiKey", Kind::Text, "a Lever API key")]), [Secret("apiKey", "LEVER_API_KEY")], "Connects with a Lever API key (checked with one Lever call first).", |env, c, input| {
        auth::connect_api_key(env, c, text(input, "apiKey"))?;
        ok(json!({ "connected": { "connection": c, "auth": "api-key" } }))
    }),
    fixed!("begin-oauth", Connection, true, Fields(NO_INPUT), [], "Starts OAuth: the Lever authorize URL to send a Super Admin to.", |env, c, _| ok(json!({ "authorizeUrl": auth::begin_oauth(env, c)? }))),
    fixed!("disconnect", Connection, true, Fields(&[opt("purge", Kind::Bool, "also delete links, maps and settings")]), [Flag("purge", "purge")], "Deletes our webhooks in Lever and the credentials (with purge, everything).", |env, c, input| {
        let purge = input.get("purge").and_then(Value::as_bool).unwrap_or(false);
        ok(json!({ "disconnected": setup::disconnect(env, c, purge)? }))
    }),
    fixed!("set-environment", Connection, true, Fields(&[req("environment", Kind::Text, "production or sandbox")]), [Field("environment")], "Chooses the Lever environment (production or sandbox) the connection uses, before it is connected.", |env, c, input| {
        let chosen = auth::set_environment(env, c, config::Tier::parse(text(input, "environment"))?)?;
        ok(json!({ "environment": chosen.tier.as_str(), "apiBase": chosen.api_base.to_string() }))
    }),
    fixed!("list-lever-stages", Connection, false, Fields(NO_INPUT), [], "Lever's stages, for the stage map.", |env, c, _| data(setup::list_stages(env, c)?)),
    fixed!("list-lever-users", Connection, false, Fields(NO_INPUT), [], "Lever's active users, for perform-as.", |env, c, _| data(setup::list_users(env, c)?)),
    fixed!("list-lever-postings", Connection, false, Fields(&[opt("state", Kind::Text, "published, internal, closed, draft, pending or rejected")]), [OptField("state")], "Lever's postings, for role links.", |env, c, input| data(setup::list_postings(env, c, opt_text(input, "state"))?)),
    fixed!("list-lever-archive-reasons", Connection, false, Fields(NO_INPUT), [], "Lever's archive reasons, for the rejection reason.", |env, c, _| data(setup::list_archive_reasons(env, c)?)),
    fixed!("get-stage-map", Connection, false, Fields(NO_INPUT), [], "The stage map: Lever stage id to partner stage.", |env, c, _| ok(setup::stage_map(env, c)?)),
    fixed!("set-stage-map", Connection, true, Input::TextMap, [Arg::Input], "Replaces the stage map and answers it.", |env, c, input| {
        let map: BTreeMap<String, String> = parse(input)?;
        let pairs: Vec<(String, String)> = map.into_iter().collect();
        ok(setup::set_stage_map(env, c, &pairs)?)
    }),
    fixed!("set-perform-as", Connection, true, Fields(&[req("userId", Kind::Text, "an active Lever user")]), [Field("userId")], "Chooses the Lever user writes are attributed to.", |env, c, input| ok(json!({ "performAs": setup::set_perform_as(env, c, text(input, "userId"))? }))),
    fixed!("set-upload-stage", Connection, true, Fields(&[opt("stageId", Kind::Text, "a Lever stage; none: the default rule")]), [OptField("stageId")], "Chooses the stage uploads start in.", |env, c, input| {
        let stage = setup::set_upload_stage(env, c, opt_text(input, "stageId"))?;
        ok(json!({ "uploadStage": stage, "source": if stage.is_some() { "configured" } else { "default" } }))
    }),
    fixed!("set-upload-tags", Connection, true, Input::Texts, [Rest("tags")], "Sets the tags every upload gets.", |env, c, input| {
        let tags: Vec<String> = parse(input)?;
        setup::set_upload_tags(env, c, &tags)?;
        ok(json!({ "uploadTags": tags }))
    }),
    fixed!("set-rejection-reason", Connection, true, Fields(&[req("archiveReasonId", Kind::Text, "an active, non-hired archive reason")]), [Field("archiveReasonId")], "Chooses the archive reason partner rejections use.", |env, c, input| ok(json!({ "rejectionReason": setup::set_rejection_reason(env, c, text(input, "archiveReasonId"))? }))),
    fixed!("list-roles", Connection, false, Fields(NO_INPUT), [], "Every partner role linked to a Lever posting.", |env, c, _| data(setup::list_roles(env, c)?)),
    fixed!("link-role", Connection, true, Fields(&[req("role", Kind::Text, "the partner role id"), req("postingId", Kind::Text, "the Lever posting")]), [Field("role"), Field("postingId")], "Links a partner role to a Lever posting.", |env, c, input| {
        let role = text(input, "role");
        let posting = setup::link_role(env, c, role, text(input, "postingId"))?;
        ok(json!({ "role": role, "posting": posting }))
    }),
    fixed!("unlink-role", Connection, true, Fields(&[req("role", Kind::Text, "the partner role id")]), [Field("role")], "Unlinks a partner role.", |env, c, input| {
        setup::unlink_role(env, c, text(input, "role"))?;
        ok(json!({ "unlinked": text(input, "role") }))
    }),
    fixed!("install-webhooks", Connection, true, Fields(NO_INPUT), [], "Installs or repairs the connector's webhooks in Lever.", |env, c, _| ok(webhooks::install(env, c)?)),
    fixed!("create-portal-link", Connection, true, Fields(&[
        opt("roles", Kind::Objects, "[{id, name}] the partner's roles to link"),
        opt("partnerStages", Kind::Texts, "the partner's stages to map to"),
        opt("expiresInSecs", Kind::Int, "the link's lifetime (default 900, at most 3600)"),
    ]), [Arg::Input], "A single-use link to the connect portal.", |env, c, input| {
        let request: portal::LinkRequest = parse(input)?;
        answer(201, portal::create_link(env, c, &request)?)
    }),
    // ---- marketplace ----
    fixed!("submit-candidate", Marketplace, true, Fields(SUBMISSION), [InputFile], "Uploads a candidate to the posting linked to its role, once.", |env, c, input| {
        let body: upload::SubmissionBody = parse(input)?;
        let uploaded = upload::submit(env, c, &upload::Submission::try_from(body)?)?;
        answer(if uploaded.created { 201 } else { 200 }, uploaded)
    }),
    fixed!("link-candidate", Marketplace, true, Fields(&[req("partnerCandidateId", Kind::Text, "the partner's candidate"), req("opportunityId", Kind::Text, "the Lever opportunity")]), [Field("partnerCandidateId"), Field("opportunityId")], "Links a partner candidate to a Lever opportunity made elsewhere.", |env, c, input| {
        let id = text(input, "partnerCandidateId");
        let opportunity = OpportunityId(text(input, "opportunityId").to_string());
        stage::link_candidate(env, c, id, &opportunity)?;
        ok(json!({ "partnerCandidateId": id, "opportunityId": opportunity }))
    }),
    fixed!("get-candidate-link", Marketplace, false, Fields(&[req("partnerCandidateId", Kind::Text, "the partner's candidate")]), [Field("partnerCandidateId")], "The Lever opportunity a partner candidate is linked to.", |env, c, input| {
        let id = text(input, "partnerCandidateId");
        match crate::store::Store::new(env.kv).connection(c).linked_opportunity(id)? {
            Some(opportunity) => ok(json!({ "partnerCandidateId": id, "opportunityId": opportunity })),
            None => Err(ConnectorError::NotFound(format!("partner candidate {id} is not linked"))),
        }
    }),
    fixed!("get-linked-candidate", Marketplace, false, Fields(&[req("opportunityId", Kind::Text, "the Lever opportunity")]), [Field("opportunityId")], "The partner candidate a Lever opportunity is linked to (null: none).", |env, c, input| {
        let opportunity = OpportunityId(text(input, "opportunityId").to_string());
        ok(json!({ "partnerCandidateId": stage::linked_candidate(env, c, &opportunity)? }))
    }),
    fixed!("set-candidate-stage", Marketplace, true, Fields(&[
        req("partnerCandidateId", Kind::Text, "the partner's candidate"),
        opt("stage", Kind::Text, "the partner stage to move to"),
        opt("rejected", Kind::Bool, "true: archive with the rejection reason"),
        opt("reason", Kind::Text, "why it was rejected (a note)"),
    ]), [Field("partnerCandidateId"), Field("stage")], "Moves (or rejects) a submitted candidate in Lever.", |env, c, input| {
        let moved = partner_stage::set_candidate_stage(env, c, text(input, "partnerCandidateId"), &candidate_move(input)?)?;
        ok(moved)
    }),
    fixed!("reject-candidate", Marketplace, true, Fields(&[req("partnerCandidateId", Kind::Text, "the partner's candidate"), opt("reason", Kind::Text, "why (a note)")]), [Field("partnerCandidateId"), OptField("reason")], "Rejects a submitted candidate: archived in Lever with the rejection reason.", |env, c, input| {
        let rejected = PartnerMove::Rejected { reason: opt_text(input, "reason").map(String::from) };
        ok(partner_stage::set_candidate_stage(env, c, text(input, "partnerCandidateId"), &rejected)?)
    }),
    fixed!("add-candidate-note", Marketplace, true, Fields(&[
        req("partnerCandidateId", Kind::Text, "the partner's candidate (submitted or linked)"),
        req("noteId", Kind::Text, "the partner's id of the note: the same id is added once"),
        req("text", Kind::Text, "the note"),
    ]), [Field("partnerCandidateId"), Field("noteId"), Field("text")], "Adds a partner note to the candidate's Lever opportunity once, as the perform_as user.", |env, c, input| {
        let added = notes::add_note(env, c, text(input, "partnerCandidateId"), text(input, "noteId"), text(input, "text"))?;
        answer(if added.created { 201 } else { 200 }, added)
    }),
    fixed!("set-interview-feedback", Marketplace, true, Fields(&[req("enabled", Kind::Bool, "true: interview events carry the interview's feedback forms")]), [Field("enabled")], "Opts the connection in to (or out of) interview feedback in its interview events.", |env, c, input| {
        let enabled = input.get("enabled").and_then(Value::as_bool).unwrap_or(false);
        crate::store::Store::new(env.kv).connection(c).set_interview_feedback(enabled)?;
        ok(json!({ "interviewFeedback": enabled }))
    }),
    fixed!("reconcile", Marketplace, true, Fields(NO_INPUT), [], "Catches up with Lever's changes since the last reconcile.", |env, c, _| ok(reconcile::reconcile(env, c)?)),
    // ---- triggers ----
    fixed!("enable-triggers", Triggers, true, Fields(&[req("enabled", Kind::Texts, "candidate-created, candidate-updated, posting-created, posting-updated")]), [Rest("enabled")], "Chooses the enabled triggers.", |env, c, input| {
        let names: Vec<String> = parse(input.get("enabled").unwrap_or(&Value::Null))?;
        triggers::set_enabled(env, c, &trigger_kinds(&names)?)?;
        ok(json!({ "enabled": names }))
    }),
    fixed!("poll-postings", Triggers, true, Fields(NO_INPUT), [], "Polls Lever's postings now (the posting triggers).", |env, c, _| ok(triggers::poll_postings(env, c)?)),
    fixed!("poll-trigger", Triggers, false, Fields(&[req("trigger", Kind::Text, "the trigger"), opt("cursor", Kind::Text, "the previous answer's cursor")]), [Field("trigger"), OptField("cursor")], "The trigger's events since a cursor.", |env, c, input| {
        let name = text(input, "trigger");
        let kind = triggers::Kind::parse(name).ok_or_else(|| ConnectorError::NotFound(format!("no trigger {name:?}")))?;
        ok(triggers::poll(env, c, kind, opt_text(input, "cursor"))?)
    }),
    // ---- outbox ----
    fixed!("list-outbox", Outbox, false, Fields(NO_INPUT), [], "Deliveries waiting for a retry.", |env, c, _| data(outbox::pending(env, c)?)),
    fixed!("list-dead-letters", Outbox, false, Fields(NO_INPUT), [], "Deliveries that ran out of attempts.", |env, c, _| data(outbox::dead_letters(env, c)?)),
    Fixed {
        audit: Audit::AsOutbox,
        ..fixed!("replay-dead-letter", Outbox, true, Fields(&[req("token", Kind::Text, "the delivery's token")]), [Field("token")], "Tries a dead-lettered delivery again.", |env, c, input| {
            let token = text(input, "token");
            ok(json!({ "token": token, "state": outbox::replay(env, c, token)? }))
        })
    },
    fixed!("list-audit", Outbox, false, Fields(NO_INPUT), [], "The writes made for this connection, newest first.", |env, c, _| data(audit::recent(env, c, audit::KEEP)?)),
    // ---- the nine actions and the proxy ----
    fixed!("create-opportunity", Action, true, Fields(NEW_OPPORTUNITY), [Arg::Input], "Creates an opportunity, as the perform_as user.", |env, c, input| answer(201, actions::create_opportunity(env, c, &parse(input)?)?)),
    fixed!("get-opportunity", Action, false, Fields(ID), [Arg::Input], "Gets one opportunity.", |env, c, input| data(actions::get_opportunity(env, c, text(input, "id"))?)),
    fixed!("list-opportunities", Action, false, Fields(LIST), [Arg::Input], "Lists opportunities, page by page.", |env, c, input| {
        let list: ListBody<actions::OpportunityFilter> = parse(input)?;
        ok(actions::list_opportunities(env, c, &list.filter, &list.page)?)
    }),
    fixed!("get-contact", Action, false, Fields(ID), [Arg::Input], "Gets one contact.", |env, c, input| data(actions::get_contact(env, c, text(input, "id"))?)),
    fixed!("update-contact", Action, true, Fields(CHANGE), [Arg::Input], "Updates a contact; fields left out are kept.", |env, c, input| {
        let change: ChangeBody<actions::ContactUpdate> = parse(input)?;
        data(actions::update_contact(env, c, &change.id, &change.changes)?)
    }),
    fixed!("create-posting", Action, true, Fields(NEW_POSTING), [Arg::Input], "Creates a posting, as the perform_as user.", |env, c, input| answer(201, json!({ "data": actions::create_posting(env, c, &parse(input)?)? }))),
    fixed!("update-posting", Action, true, Fields(CHANGE), [Arg::Input], "Updates a posting, as the perform_as user.", |env, c, input| {
        let change: ChangeBody<actions::PostingUpdate> = parse(input)?;
        data(actions::update_posting(env, c, &change.id, &change.changes)?)
    }),
    fixed!("get-posting", Action, false, Fields(ID), [Arg::Input], "Gets one posting.", |env, c, input| data(actions::get_posting(env, c, text(input, "id"))?)),
    fixed!("list-postings", Action, false, Fields(LIST), [Arg::Input], "Lists postings, page by page.", |env, c, input| {
        let list: ListBody<actions::PostingFilter> = parse(input)?;
        ok(actions::list_postings(env, c, &list.filter, &list.page)?)
    }),
    fixed!("upload-file", Action, true, Fields(catalog::UPLOAD_FILE), [Arg::Input], "Uploads a file to an opportunity, as the perform_as user (download it through the proxy).", catalog::upload_file),
    fixed!("apply-to-posting", Action, true, Fields(catalog::APPLY), [Arg::Input], "Applies a candidate to a posting: reads its application form first, refuses unanswered required questions, then submits.", catalog::apply),
    fixed!("proxy", Action, true, Fields(PROXY), [Field("method"), Field("path"), OptField("body")], "Sends any request below the Lever API root with the connection's credentials; Lever's answer comes back as it is.", proxy),
];

/// The README's table of the catalog's actions (a test keeps the README equal to it).
pub fn catalog_markdown() -> String {
    let mut out = String::from(
        "| action | Lever | input | perform_as | OAuth scope |\n|---|---|---|---|---|\n",
    );
    for endpoint in catalog::ENDPOINTS {
        let inputs: Vec<String> = endpoint
            .params()
            .iter()
            .map(|p| format!("{}{}", p.name, if p.required { "" } else { "?" }))
            .collect();
        out.push_str(&format!(
            "| `{}` | `{} /{}` | `{{{}}}` | {} | `{}` |\n",
            endpoint.action,
            endpoint.method.as_str(),
            endpoint.path,
            inputs.join(", "),
            if endpoint.perform_as == catalog::PerformAs::Required {
                "yes"
            } else {
                ""
            },
            endpoint.scope,
        ));
    }
    out
}

/// The WIT `operation` enum, one case per operation in [`all`]'s order (its index is the
/// case's).
pub fn wit_enum() -> String {
    let mut out = String::from(
        "  /// Every operation, in the order of `list-operations` (generated from the catalog).\n  enum operation {\n",
    );
    for op in all() {
        out.push_str(&format!("    /// {}\n    {},\n", op.summary(), op.name()));
    }
    out.push_str("  }\n");
    out
}

/// The operation at `index` of [`all`] (the WIT enum's case number).
pub fn by_index(index: usize) -> Option<Op> {
    all().nth(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wit_operation_enum_is_the_registry() {
        const BEGIN: &str =
            "  // generated: BLESS=1 cargo test -p lever-plugin wit_operation_enum\n";
        const END: &str = "  // end of generated\n";
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../wit/operations.wit");
        let text = std::fs::read_to_string(path).unwrap();
        let start = text.find(BEGIN).unwrap() + BEGIN.len();
        let end = text.find(END).unwrap();
        let expected = wit_enum();
        if std::env::var_os("BLESS").is_some() {
            let blessed = format!("{}{expected}{}", &text[..start], &text[end..]);
            std::fs::write(path, blessed).unwrap();
            return;
        }
        assert_eq!(
            &text[start..end],
            expected,
            "wit/operations.wit is not the registry: BLESS=1 cargo test -p lever-plugin wit_operation_enum"
        );
    }

    #[test]
    fn the_readme_shows_the_catalog() {
        let readme = include_str!("../../../README.md");
        let table = catalog_markdown();
        assert!(
            readme.contains(&table),
            "README.md's action catalog differs from ops/catalog.rs; it should read:\n{table}"
        );
    }

    #[test]
    fn operation_names_are_unique_and_kebab_case() {
        let mut seen = std::collections::BTreeSet::new();
        for op in all() {
            assert!(seen.insert(op.name()), "{} twice", op.name());
            assert!(
                op.name()
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '-')
                    && !op.name().contains("--"),
                "{}",
                op.name()
            );
        }
    }

    #[test]
    fn every_action_lists_a_schema_for_its_input_and_output() {
        let listed = actions();
        assert!(listed.len() >= 70, "{}", listed.len());
        for action in &listed {
            assert_eq!(action.input["type"], "object", "{}", action.name);
            assert_eq!(action.output["type"], "object", "{}", action.name);
        }
        let note = listed.iter().find(|a| a.name == "create-note").unwrap();
        assert_eq!(
            note.lever.as_deref(),
            Some("POST /opportunities/{opportunityId}/notes")
        );
        assert!(note.perform_as && note.writes);
        let upload = listed.iter().find(|a| a.name == "upload-file").unwrap();
        assert!(upload.perform_as && upload.writes);
        assert_eq!(note.input["required"], json!(["opportunityId", "value"]));
    }

    #[test]
    fn the_typed_actions_inputs_match_their_schemas() {
        // A value for every property of each schema: the action's own parser takes it.
        let sample = |schema: &Value| -> Value {
            let mut object = serde_json::Map::new();
            for (name, property) in schema["properties"].as_object().unwrap() {
                let value = match property["type"].as_str() {
                    Some("string") => json!("x"),
                    Some("boolean") => json!(true),
                    Some("integer") => json!(1),
                    Some("array") if property["items"]["type"] == "object" => {
                        json!([{ "value": "1" }])
                    }
                    Some("array") => json!(["x"]),
                    Some("object") => json!({}),
                    _ => json!(null),
                };
                object.insert(name.clone(), value);
            }
            Value::Object(object)
        };
        let op = find("create-opportunity").unwrap();
        let input = sample(&op.input_schema());
        parse::<actions::NewOpportunity>(&input).unwrap();
        let input = sample(&find("create-posting").unwrap().input_schema());
        parse::<actions::NewPosting>(&input).unwrap();
        let input = sample(&find("submit-candidate").unwrap().input_schema());
        let mut input = input;
        input["resume"] = json!({ "fileName": "cv.pdf", "contentBase64": "" });
        parse::<upload::SubmissionBody>(&input).unwrap();
    }

    #[test]
    fn candidate_moves_are_a_stage_or_a_rejection() {
        assert_eq!(
            candidate_move(&json!({ "stage": "offer" })).unwrap(),
            PartnerMove::Stage("offer".into())
        );
        assert!(candidate_move(&json!({ "stage": "offer", "rejected": true })).is_err());
        assert!(candidate_move(&json!({})).is_err());
    }
}
