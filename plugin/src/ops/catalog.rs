//! Lever's Data API as data: one entry per endpoint (its action name, method, path, query and
//! body parameters, whether it pages, whether it needs `perform_as`, its OAuth scope and what
//! it answers). [`run`] serves every entry the same way: it checks the input against the
//! entry, builds the request, keeps the connection under its rate budget with Lever's
//! retries, pages with the connector's cursor, and answers Lever's `data`.
//!
//! Adding an endpoint is adding an entry: the `GET /actions` list, its JSON Schemas, the WIT
//! `operation` enum and the README's action table follow from it (tests check the last two).

use serde_json::{json, Map, Value};

use super::params::{opt, req, Kind, Param};
use crate::actions::{self, field, PageRequest};
use crate::auth;
use crate::error::ConnectorError;
use crate::io::{Env, Method};
use crate::lever;
use crate::setup;
use crate::store::ConnectionId;

/// Whether an endpoint attributes the write to a Lever user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PerformAs {
    /// Lever takes no `perform_as`.
    No,
    /// Lever requires `perform_as`: the connection's chosen user (`not-configured` without).
    Required,
}

/// What Lever answers on success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// One object: `{"data": {...}}`.
    Object,
    /// A created object: `{"data": {...}}` with status 201.
    Created,
    /// A list, paged with the connector's cursor: `{"data": [...], "hasNext", "next"?}`.
    List,
    /// A list Lever answers whole (no paging): `{"data": [...]}`.
    Whole,
    /// Nothing (Lever's 204): `{"data": null}`.
    Empty,
    /// A body without Lever's envelope, answered as `{"data": <the body>}`.
    Raw,
}

/// One Lever endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    /// The action's name (kebab case, verb first).
    pub action: &'static str,
    /// What it does, for people.
    pub summary: &'static str,
    /// The method.
    pub method: Method,
    /// The path below the API root; `{name}` segments are required text inputs.
    pub path: &'static str,
    /// Query parameters.
    pub query: &'static [Param],
    /// Body fields (a JSON body with those given; none: no body).
    pub body: &'static [Param],
    /// Whether the write is attributed to a Lever user.
    pub perform_as: PerformAs,
    /// The OAuth scope it needs.
    pub scope: &'static str,
    /// What it answers.
    pub answer: Answer,
}

impl Endpoint {
    /// Whether it changes anything in Lever.
    pub fn writes(&self) -> bool {
        self.method != Method::Get
    }

    /// The names of the path's `{parameters}`, in order.
    pub fn path_params(&self) -> impl Iterator<Item = &'static str> {
        self.path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
    }

    /// Every input parameter: path, query, body, and `page` for paged lists.
    pub fn params(&self) -> Vec<Param> {
        let mut params: Vec<Param> = self
            .path_params()
            .map(|name| Param {
                name,
                kind: Kind::Text,
                required: true,
                doc: "Lever id (path)",
            })
            .collect();
        params.extend(self.query.iter().copied());
        params.extend(self.body.iter().copied());
        if self.answer == Answer::List {
            params.push(PAGE);
        }
        params
    }
}

/// The paging input of every paged list.
pub const PAGE: Param = opt(
    "page",
    Kind::Object,
    "{limit?: 1-100, cursor?: the previous answer's next, allPagesUpTo?: follow pages up to this many records}",
);

const CREATED_AT: [Param; 2] = [
    opt("created_at_start", Kind::Millis, "created at or after"),
    opt("created_at_end", Kind::Millis, "created at or before"),
];
const NOTE_BODY: [Param; 5] = [
    req("value", Kind::Text, "the note's text"),
    opt(
        "secret",
        Kind::Bool,
        "visible only to its author and admins",
    ),
    opt("score", Kind::Int, "a score, 1-4"),
    opt(
        "notifyFollowers",
        Kind::Bool,
        "notify the opportunity's followers",
    ),
    opt(
        "createdAt",
        Kind::Millis,
        "when it was written (default: now)",
    ),
];
const INTERVIEW_BODY: [Param; 11] = [
    req(
        "panel",
        Kind::Text,
        "the panel (created through the API) it belongs to",
    ),
    req("subject", Kind::Text, "the interview's subject"),
    req(
        "interviewers",
        Kind::Objects,
        "[{id, feedbackTemplate?}] Lever users",
    ),
    req("date", Kind::Millis, "when it starts"),
    req("duration", Kind::Int, "minutes"),
    opt("note", Kind::Text, "a note for the interviewers"),
    opt("location", Kind::Text, "where (a room or a video link)"),
    opt("feedbackTemplate", Kind::Text, "the feedback template"),
    opt(
        "feedbackReminder",
        Kind::Text,
        "once, daily, frequently or none",
    ),
    opt("timezone", Kind::Text, "an IANA time zone"),
    opt("externallyManaged", Kind::Bool, "kept by this integration"),
];
const INTERVIEW_UPDATE: [Param; 9] = [
    req("subject", Kind::Text, "the interview's subject"),
    req(
        "interviewers",
        Kind::Objects,
        "[{id, feedbackTemplate?}] Lever users",
    ),
    req("date", Kind::Millis, "when it starts"),
    req("duration", Kind::Int, "minutes"),
    opt("panel", Kind::Text, "the panel it belongs to"),
    opt("note", Kind::Text, "a note for the interviewers"),
    opt("location", Kind::Text, "where (a room or a video link)"),
    opt("feedbackTemplate", Kind::Text, "the feedback template"),
    opt("timezone", Kind::Text, "an IANA time zone"),
];
const PANEL_BODY: [Param; 7] = [
    req("timezone", Kind::Text, "an IANA time zone"),
    req(
        "interviews",
        Kind::Objects,
        "[{subject, interviewers, date, duration, ...}]",
    ),
    opt("applications", Kind::Texts, "application ids"),
    opt(
        "feedbackReminder",
        Kind::Text,
        "once, daily, frequently or none",
    ),
    opt("note", Kind::Text, "a note"),
    opt("externallyManaged", Kind::Bool, "kept by this integration"),
    opt(
        "externalUrl",
        Kind::Text,
        "the panel's page in the integration",
    ),
];
const FEEDBACK_BODY: [Param; 5] = [
    req("baseTemplateId", Kind::Text, "the feedback template"),
    opt("panel", Kind::Text, "the panel"),
    opt("interview", Kind::Text, "the interview"),
    opt(
        "fieldValues",
        Kind::Objects,
        "[{id, value}] answers to the template's fields",
    ),
    opt("completedAt", Kind::Millis, "when it was completed"),
];
const FEEDBACK_UPDATE: [Param; 2] = [
    req(
        "fieldValues",
        Kind::Objects,
        "[{id, value}] answers to the template's fields",
    ),
    opt("completedAt", Kind::Millis, "when it was completed"),
];
const TEMPLATE_BODY: [Param; 4] = [
    req("text", Kind::Text, "the template's name"),
    req(
        "fields",
        Kind::Objects,
        "its fields: [{type, text, required, ...}]",
    ),
    opt(
        "instructions",
        Kind::Text,
        "instructions for the interviewer",
    ),
    opt("group", Kind::Text, "the template group"),
];
const REQUISITION_BODY: [Param; 11] = [
    req("requisitionCode", Kind::Text, "your requisition code"),
    req("name", Kind::Text, "its name"),
    req("headcountTotal", Kind::Int, "how many hires"),
    opt("status", Kind::Text, "open or closed"),
    opt("backfill", Kind::Bool, "a backfill"),
    opt("employmentStatus", Kind::Text, "full-time, part-time, ..."),
    opt("location", Kind::Text, "location"),
    opt("team", Kind::Text, "team"),
    opt("hiringManager", Kind::Text, "Lever user id"),
    opt(
        "compensationBand",
        Kind::Object,
        "{currency, interval, min, max}",
    ),
    opt(
        "customFields",
        Kind::Object,
        "values of the account's requisition fields",
    ),
];
const USER_BODY: [Param; 5] = [
    req("name", Kind::Text, "full name"),
    req("email", Kind::Text, "email address"),
    opt(
        "accessRole",
        Kind::Text,
        "super admin, admin, team member, limited team member, interviewer",
    ),
    opt(
        "externalDirectoryId",
        Kind::Text,
        "the user's id in your directory",
    ),
    opt("jobTitle", Kind::Text, "job title"),
];
const TAGS: [Param; 1] = [req("tags", Kind::Texts, "tags")];
const SOURCES: [Param; 1] = [req("sources", Kind::Texts, "sources")];
const LINKS: [Param; 1] = [req("links", Kind::Texts, "links (URLs)")];

/// An endpoint with the common defaults (GET, no parameters, no `perform_as`, one object).
const fn get(
    action: &'static str,
    path: &'static str,
    scope: &'static str,
    summary: &'static str,
) -> Endpoint {
    Endpoint {
        action,
        summary,
        method: Method::Get,
        path,
        query: &[],
        body: &[],
        perform_as: PerformAs::No,
        scope,
        answer: Answer::Object,
    }
}

/// A paged list.
const fn list(
    action: &'static str,
    path: &'static str,
    scope: &'static str,
    summary: &'static str,
) -> Endpoint {
    Endpoint {
        answer: Answer::List,
        ..get(action, path, scope, summary)
    }
}

/// A write of `method` with a JSON body of `body`.
const fn write(
    action: &'static str,
    method: Method,
    path: &'static str,
    body: &'static [Param],
    scope: &'static str,
    summary: &'static str,
) -> Endpoint {
    Endpoint {
        method,
        body,
        ..get(action, path, scope, summary)
    }
}

/// [`write`] attributed to the connection's `perform_as` user.
const fn write_as(
    action: &'static str,
    method: Method,
    path: &'static str,
    body: &'static [Param],
    scope: &'static str,
    summary: &'static str,
) -> Endpoint {
    Endpoint {
        perform_as: PerformAs::Required,
        ..write(action, method, path, body, scope, summary)
    }
}

const fn created(endpoint: Endpoint) -> Endpoint {
    Endpoint {
        answer: Answer::Created,
        ..endpoint
    }
}

const fn empty(endpoint: Endpoint) -> Endpoint {
    Endpoint {
        answer: Answer::Empty,
        ..endpoint
    }
}

const fn raw(endpoint: Endpoint) -> Endpoint {
    Endpoint {
        answer: Answer::Raw,
        ..endpoint
    }
}

const fn whole(endpoint: Endpoint) -> Endpoint {
    Endpoint {
        answer: Answer::Whole,
        ..endpoint
    }
}

const fn with_query(endpoint: Endpoint, query: &'static [Param]) -> Endpoint {
    Endpoint { query, ..endpoint }
}

use Method::{Delete, Post, Put};

const OPP: &str = "opportunities:read:admin";
const OPP_W: &str = "opportunities:write:admin";

/// Every Lever endpoint served as an action, besides the nine typed actions and the proxy.
pub const ENDPOINTS: &[Endpoint] = &[
    // ---- notes ----
    list("list-notes", "opportunities/{opportunityId}/notes", "notes:read:admin", "Lists an opportunity's notes."),
    get("get-note", "opportunities/{opportunityId}/notes/{noteId}", "notes:read:admin", "Gets one note."),
    created(write_as("create-note", Post, "opportunities/{opportunityId}/notes", &NOTE_BODY, "notes:write:admin", "Adds a note to an opportunity, as the perform_as user.")),
    empty(write("delete-note", Delete, "opportunities/{opportunityId}/notes/{noteId}", &[], "notes:write:admin", "Deletes a note.")),
    // ---- opportunity tags, sources, links, stage, archive ----
    write_as("add-tags", Post, "opportunities/{opportunityId}/addTags", &TAGS, OPP_W, "Adds tags to an opportunity."),
    write_as("remove-tags", Post, "opportunities/{opportunityId}/removeTags", &TAGS, OPP_W, "Removes tags from an opportunity."),
    write_as("add-sources", Post, "opportunities/{opportunityId}/addSources", &SOURCES, OPP_W, "Adds sources to an opportunity."),
    write_as("remove-sources", Post, "opportunities/{opportunityId}/removeSources", &SOURCES, OPP_W, "Removes sources from an opportunity."),
    write_as("add-links", Post, "opportunities/{opportunityId}/addLinks", &LINKS, OPP_W, "Adds links to an opportunity's contact."),
    write_as("remove-links", Post, "opportunities/{opportunityId}/removeLinks", &LINKS, OPP_W, "Removes links from an opportunity's contact."),
    write_as("change-stage", Put, "opportunities/{opportunityId}/stage", &[req("stage", Kind::Text, "the Lever stage id")], OPP_W, "Moves an opportunity to a stage."),
    write_as("archive-opportunity", Put, "opportunities/{opportunityId}/archived", &[
        req("reason", Kind::Text, "the archive reason id (list-archive-reasons)"),
        opt("cleanInterviews", Kind::Bool, "also remove pending interviews"),
        opt("requisitionId", Kind::Text, "the requisition the hire fills (hired reasons)"),
    ], OPP_W, "Archives an opportunity with a reason."),
    write_as("unarchive-opportunity", Put, "opportunities/{opportunityId}/archived", &[
        opt("reason", Kind::Any, "must be null or left out: unarchives"),
    ], OPP_W, "Unarchives an opportunity."),
    whole(get("list-archive-reasons", "archive_reasons", "archive_reasons:read:admin", "Lists the account's archive reasons.")),
    get("get-archive-reason", "archive_reasons/{archiveReasonId}", "archive_reasons:read:admin", "Gets one archive reason."),
    // ---- interviews and panels ----
    list("list-interviews", "opportunities/{opportunityId}/interviews", "interviews:read:admin", "Lists an opportunity's interviews."),
    get("get-interview", "opportunities/{opportunityId}/interviews/{interviewId}", "interviews:read:admin", "Gets one interview."),
    created(write_as("create-interview", Post, "opportunities/{opportunityId}/interviews", &INTERVIEW_BODY, "interviews:write:admin", "Schedules an interview in a panel created through the API.")),
    write_as("update-interview", Put, "opportunities/{opportunityId}/interviews/{interviewId}", &INTERVIEW_UPDATE, "interviews:write:admin", "Replaces an interview (every field is sent)."),
    empty(write_as("delete-interview", Delete, "opportunities/{opportunityId}/interviews/{interviewId}", &[], "interviews:write:admin", "Cancels an interview.")),
    list("list-panels", "opportunities/{opportunityId}/panels", "panels:read:admin", "Lists an opportunity's interview panels."),
    get("get-panel", "opportunities/{opportunityId}/panels/{panelId}", "panels:read:admin", "Gets one panel."),
    created(write_as("create-panel", Post, "opportunities/{opportunityId}/panels", &PANEL_BODY, "panels:write:admin", "Creates an interview panel with its interviews.")),
    write_as("update-panel", Put, "opportunities/{opportunityId}/panels/{panelId}", &PANEL_BODY, "panels:write:admin", "Replaces a panel."),
    empty(write_as("delete-panel", Delete, "opportunities/{opportunityId}/panels/{panelId}", &[], "panels:write:admin", "Deletes a panel and its interviews.")),
    // ---- feedback and templates ----
    list("list-feedback", "opportunities/{opportunityId}/feedback", "feedback:read:admin", "Lists an opportunity's feedback forms."),
    get("get-feedback", "opportunities/{opportunityId}/feedback/{feedbackId}", "feedback:read:admin", "Gets one feedback form."),
    created(write_as("create-feedback", Post, "opportunities/{opportunityId}/feedback", &FEEDBACK_BODY, "feedback:write:admin", "Submits feedback with any template, as the perform_as user.")),
    write_as("update-feedback", Put, "opportunities/{opportunityId}/feedback/{feedbackId}", &FEEDBACK_UPDATE, "feedback:write:admin", "Updates a feedback form's answers."),
    empty(write("delete-feedback", Delete, "opportunities/{opportunityId}/feedback/{feedbackId}", &[], "feedback:write:admin", "Deletes a feedback form.")),
    list("list-feedback-templates", "feedback_templates", "feedback_templates:read:admin", "Lists the account's feedback templates."),
    get("get-feedback-template", "feedback_templates/{feedbackTemplateId}", "feedback_templates:read:admin", "Gets one feedback template."),
    created(write("create-feedback-template", Post, "feedback_templates", &TEMPLATE_BODY, "feedback_templates:write:admin", "Creates a feedback template.")),
    write("update-feedback-template", Put, "feedback_templates/{feedbackTemplateId}", &TEMPLATE_BODY, "feedback_templates:write:admin", "Replaces a feedback template."),
    empty(write("delete-feedback-template", Delete, "feedback_templates/{feedbackTemplateId}", &[], "feedback_templates:write:admin", "Deletes a feedback template.")),
    // ---- offers, referrals, applications ----
    list("list-offers", "opportunities/{opportunityId}/offers", "offers:read:admin", "Lists an opportunity's offers."),
    list("list-referrals", "opportunities/{opportunityId}/referrals", "referrals:read:admin", "Lists an opportunity's referrals."),
    get("get-referral", "opportunities/{opportunityId}/referrals/{referralId}", "referrals:read:admin", "Gets one referral."),
    list("list-applications", "opportunities/{opportunityId}/applications", "applications:read:admin", "Lists an opportunity's applications."),
    get("get-application", "opportunities/{opportunityId}/applications/{applicationId}", "applications:read:admin", "Gets one application."),
    // ---- resumes and files ----
    list("list-resumes", "opportunities/{opportunityId}/resumes", "resumes:read:admin", "Lists every resume of an opportunity, page by page."),
    get("get-resume", "opportunities/{opportunityId}/resumes/{resumeId}", "resumes:read:admin", "Gets one resume's metadata (download it through the proxy: GET /opportunities/{id}/resumes/{resumeId}/download)."),
    list("list-files", "opportunities/{opportunityId}/files", "files:read:admin", "Lists an opportunity's files."),
    get("get-file", "opportunities/{opportunityId}/files/{fileId}", "files:read:admin", "Gets one file's metadata (download it through the proxy: GET /opportunities/{id}/files/{fileId}/download)."),
    empty(write("delete-file", Delete, "opportunities/{opportunityId}/files/{fileId}", &[], "files:write:admin", "Deletes a file.")),
    // ---- requisitions ----
    with_query(list("list-requisitions", "requisitions", "requisitions:read:admin", "Lists requisitions."), &[
        opt("requisition_code", Kind::Texts, "with any of these codes"),
        opt("status", Kind::Text, "open or closed"),
        CREATED_AT[0],
        CREATED_AT[1],
        opt("confidentiality", Kind::Text, "all to include confidential ones"),
    ]),
    get("get-requisition", "requisitions/{requisitionId}", "requisitions:read:admin", "Gets one requisition."),
    created(write("create-requisition", Post, "requisitions", &REQUISITION_BODY, "requisitions:write:admin", "Creates a requisition.")),
    write("update-requisition", Put, "requisitions/{requisitionId}", &REQUISITION_BODY, "requisitions:write:admin", "Replaces a requisition."),
    empty(write("delete-requisition", Delete, "requisitions/{requisitionId}", &[], "requisitions:write:admin", "Deletes a requisition.")),
    list("list-requisition-fields", "requisition_fields", "requisition_fields:read:admin", "Lists the account's requisition fields."),
    get("get-requisition-field", "requisition_fields/{fieldId}", "requisition_fields:read:admin", "Gets one requisition field."),
    // ---- applying to postings ----
    get("get-application-questions", "postings/{postingId}/apply", "postings:read:admin", "Reads a posting's application form: personal information, custom questions, EEO questions."),
    raw(get("get-posting-users", "postings/{postingId}/users", "postings:read:admin", "The users and roles with access to a posting: {posting, users, roles}.")),
    // ---- EEO ----
    with_query(get("get-eeo-responses", "eeo/responses", "eeo_responses:read:admin", "EEO responses without personal information."), &[
        opt("fromDate", Kind::Millis, "from"),
        opt("toDate", Kind::Millis, "to"),
    ]),
    with_query(get("get-eeo-responses-pii", "eeo/responses/pii", "eeo_responses_pii:read:admin", "EEO responses with personal information."), &[
        opt("fromDate", Kind::Millis, "from"),
        opt("toDate", Kind::Millis, "to"),
    ]),
    // ---- users ----
    with_query(list("list-users", "users", "users:read:admin", "Lists the account's users."), &[
        opt("email", Kind::Text, "with this email"),
        opt("includeDeactivated", Kind::Bool, "also deactivated users"),
        opt("accessRole", Kind::Text, "with this access role"),
    ]),
    get("get-user", "users/{userId}", "users:read:admin", "Gets one user."),
    created(write("create-user", Post, "users", &USER_BODY, "users:write:admin", "Creates a user.")),
    write("update-user", Put, "users/{userId}", &USER_BODY, "users:write:admin", "Replaces a user's name, email and role."),
    write("deactivate-user", Post, "users/{userId}/deactivate", &[], "users:write:admin", "Deactivates a user."),
    write("reactivate-user", Post, "users/{userId}/reactivate", &[], "users:write:admin", "Reactivates a user."),
    // ---- deleted objects ----
    with_query(list("list-deleted-opportunities", "opportunities/deleted", OPP, "Lists deleted opportunities."), &[
        opt("deleted_at_start", Kind::Millis, "deleted at or after"),
        opt("deleted_at_end", Kind::Millis, "deleted at or before"),
    ]),
    with_query(list("list-deleted-applications", "applications/deleted", "applications:read:admin", "Lists deleted applications."), &[
        opt("deleted_at_start", Kind::Millis, "deleted at or after"),
        opt("deleted_at_end", Kind::Millis, "deleted at or before"),
    ]),
    with_query(list("list-deleted-postings", "postings/deleted", "postings:read:admin", "Lists deleted postings."), &[
        opt("deleted_at_start", Kind::Millis, "deleted at or after"),
        opt("deleted_at_end", Kind::Millis, "deleted at or before"),
    ]),
    // ---- account lists ----
    list("list-sources", "sources", "sources:read:admin", "Lists the sources in use and how many opportunities have each."),
    list("list-tags", "tags", "tags:read:admin", "Lists the tags in use and how many opportunities have each."),
    whole(get("list-stages", "stages", "stages:read:admin", "Lists the pipeline's stages.")),
    get("get-stage", "stages/{stageId}", "stages:read:admin", "Gets one stage."),
    get("get-disposition-stages", "disposition_stages", "stages:read:admin", "The stages and archive reasons an opportunity can be dispositioned to: {stages, archiveReasons}."),
    whole(get("list-webhooks", "webhooks", "webhooks:read:admin", "Lists the account's webhooks (their signature tokens are never shown).")),
];

/// The entry of an action name.
pub fn find(action: &str) -> Option<&'static Endpoint> {
    ENDPOINTS.iter().find(|e| e.action == action)
}

/// The JSON Schema of an endpoint's answer.
pub fn output_schema(endpoint: &Endpoint) -> Value {
    let object = json!({ "type": "object", "description": "the Lever object, as Lever shows it" });
    match endpoint.answer {
        Answer::Object | Answer::Created => json!({
            "type": "object",
            "properties": { "data": object },
            "required": ["data"],
        }),
        Answer::List => json!({
            "type": "object",
            "properties": {
                "data": { "type": "array", "items": object },
                "hasNext": { "type": "boolean" },
                "next": { "type": "string", "description": "the cursor for the next page" },
            },
            "required": ["data", "hasNext"],
        }),
        Answer::Whole => json!({
            "type": "object",
            "properties": { "data": { "type": "array", "items": object } },
            "required": ["data"],
        }),
        Answer::Empty => json!({
            "type": "object",
            "properties": { "data": { "type": "null" } },
            "required": ["data"],
        }),
        Answer::Raw => json!({
            "type": "object",
            "properties": { "data": { "type": "object", "description": "Lever's answer, as Lever sent it" } },
            "required": ["data"],
        }),
    }
}

/// Serves one endpoint for a connection: `(status, answer)`.
pub fn run(
    env: &Env,
    c: &ConnectionId,
    endpoint: &Endpoint,
    input: &Value,
) -> Result<(u16, Value), ConnectorError> {
    let params = endpoint.params();
    let refs: Vec<&Param> = params.iter().collect();
    let input = super::params::check(input, &refs)?;
    if endpoint.action == "unarchive-opportunity"
        && input.get("reason").is_some_and(|r| !r.is_null())
    {
        return Err(ConnectorError::InvalidInput(
            "unarchive-opportunity takes no reason; use archive-opportunity to archive".into(),
        ));
    }
    let text = |name: &str| input.get(name).and_then(Value::as_str).unwrap_or_default();
    let segments: Vec<&str> = endpoint
        .path
        .split('/')
        .map(
            |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => text(name),
                None => s,
            },
        )
        .collect();
    let api = auth::lever_api_for(env, c, Some(endpoint.scope))?;
    let mut query: Vec<(String, String)> = Vec::new();
    for param in endpoint.query {
        if let Some(value) = input.get(param.name) {
            query.extend(
                super::params::query_values(value)
                    .into_iter()
                    .map(|v| (param.name.to_string(), v)),
            );
        }
    }
    if endpoint.perform_as == PerformAs::Required {
        let user = setup::require_perform_as(env, c)?;
        query.push(("perform_as".into(), user.0));
    }
    if endpoint.answer == Answer::List {
        let page: PageRequest = match input.get("page") {
            Some(page) if !page.is_null() => serde_json::from_value(page.clone())
                .map_err(|e| ConnectorError::InvalidInput(format!("page: {e}")))?,
            _ => PageRequest::default(),
        };
        let page = actions::read_pages(env, &api, &segments, &query, false, &page)?;
        return Ok((200, serde_json::to_value(page).map_err(internal)?));
    }
    let body = if endpoint.method == Method::Get || endpoint.method == Method::Delete {
        None
    } else {
        let fields: Map<String, Value> = endpoint
            .body
            .iter()
            .filter_map(|p| input.get(p.name).map(|v| (p.name.to_string(), v.clone())))
            .collect();
        Some(serde_json::to_vec(&Value::Object(fields)).map_err(internal)?)
    };
    let query: Vec<(&str, &str)> = query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let request = api.request(endpoint.method, &segments, &query, body);
    let response = lever::send(env, request)?;
    match endpoint.answer {
        Answer::Empty => {
            lever::interpret_empty(response)?;
            Ok((200, json!({ "data": null })))
        }
        Answer::Created => {
            let data: Value = lever::interpret(response)?;
            Ok((201, json!({ "data": data })))
        }
        Answer::Raw => {
            let data: Value = lever::interpret_body(response)?;
            Ok((200, json!({ "data": data })))
        }
        _ => {
            let data: Value = lever::interpret(response)?;
            Ok((200, json!({ "data": data })))
        }
    }
}

/// The input of `apply-to-posting`.
pub const APPLY: &[Param] = &[
    req("postingId", Kind::Text, "the posting to apply to"),
    req(
        "personalInformation",
        Kind::Objects,
        "[{name, value}] answers to the form's personal information (fullName and email at least)",
    ),
    opt("urls", Kind::Objects, "[{name, value}] links"),
    opt(
        "customQuestions",
        Kind::Objects,
        "[{id, fields: [{value}]}] answers to the posting's custom questions",
    ),
    opt("eeoResponses", Kind::Object, "answers to the EEO questions"),
    opt("consent", Kind::Object, "the candidate's consents"),
    opt("origin", Kind::Text, "applied (default) or another origin"),
];

/// Applies a candidate to a posting: reads the posting's application form first and refuses
/// an input that leaves a required question of it unanswered (naming the questions), then
/// submits it. Answers Lever's `{applicationId}`.
pub fn apply(env: &Env, c: &ConnectionId, input: &Value) -> Result<(u16, Value), ConnectorError> {
    let posting = input
        .get("postingId")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let api = auth::lever_api_for(env, c, Some("postings:read:admin"))?;
    let form: Value = lever::interpret(lever::send(
        env,
        api.request(Method::Get, &["postings", posting, "apply"], &[], None),
    )?)?;
    let answered = |list: &str, key: &str, name: &Value| {
        input
            .get(list)
            .and_then(Value::as_array)
            .is_some_and(|items| items.iter().any(|i| i.get(key) == Some(name)))
    };
    let mut missing: Vec<String> = Vec::new();
    for item in field(&form, "personalInformation")
        .as_array()
        .into_iter()
        .flatten()
    {
        if field(item, "required") == true
            && !answered("personalInformation", "name", field(item, "name"))
        {
            missing.push(format!("personalInformation {}", field(item, "name")));
        }
    }
    for question in field(&form, "customQuestions")
        .as_array()
        .into_iter()
        .flatten()
    {
        let required = question["fields"]
            .as_array()
            .is_some_and(|fields| fields.iter().any(|f| f["required"] == true));
        if required && !answered("customQuestions", "id", &question["id"]) {
            missing.push(format!(
                "custom question {} ({})",
                question["id"], question["text"]
            ));
        }
    }
    if !missing.is_empty() {
        return Err(ConnectorError::InvalidInput(format!(
            "the posting's application form needs answers to: {}",
            missing.join(", ")
        )));
    }
    let mut body = input.clone();
    if let Some(map) = body.as_object_mut() {
        map.remove("postingId");
    }
    let body = serde_json::to_vec(&body).map_err(internal)?;
    let request = api.request(
        Method::Post,
        &["postings", posting, "apply"],
        &[],
        Some(body),
    );
    let data: Value = lever::interpret(lever::send(env, request)?)?;
    Ok((201, json!({ "data": data })))
}

/// The input of `upload-file`.
pub const UPLOAD_FILE: &[Param] = &[
    req("opportunityId", Kind::Text, "the opportunity"),
    req(
        "fileName",
        Kind::Text,
        "the file's name, with its extension",
    ),
    req(
        "contentBase64",
        Kind::Text,
        "the file's bytes, base64 (at most 30 MB)",
    ),
    opt(
        "contentType",
        Kind::Text,
        "its media type (default: from the extension)",
    ),
];

/// Uploads a file to an opportunity (`POST /opportunities/:id/files`, multipart) as the
/// connection's `perform_as` user. Answers Lever's file.
pub fn upload_file(
    env: &Env,
    c: &ConnectionId,
    input: &Value,
) -> Result<(u16, Value), ConnectorError> {
    use base64::Engine as _;
    let text = |name: &str| field(input, name).as_str().unwrap_or_default();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text("contentBase64").as_bytes())
        .map_err(|_| ConnectorError::InvalidInput("contentBase64 is not base64".into()))?;
    if bytes.len() > crate::sync::upload::MAX_RESUME_BYTES {
        return Err(ConnectorError::TooLarge(
            crate::sync::upload::MAX_RESUME_BYTES as u64,
        ));
    }
    let file_name = text("fileName");
    let content_type = match field(input, "contentType").as_str() {
        Some(given) => given.to_string(),
        None => crate::sync::upload::content_type_for(file_name).to_string(),
    };
    let user = setup::require_perform_as(env, c)?;
    let api = auth::lever_api_for(env, c, Some("files:write:admin"))?;
    let (form_type, body) = crate::multipart::Form::new(&env.random.bytes(16))
        .file("file", file_name, &content_type, &bytes)
        .finish();
    let request = api.request_typed(
        Method::Post,
        &["opportunities", text("opportunityId"), "files"],
        &[("perform_as", user.as_str())],
        &form_type,
        body,
    );
    let data: Value = lever::interpret(lever::send(env, request)?)?;
    Ok((201, json!({ "data": data })))
}

fn internal(e: serde_json::Error) -> ConnectorError {
    ConnectorError::Internal(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_names_are_unique_kebab_case_and_verb_first() {
        let mut seen = std::collections::BTreeSet::new();
        for endpoint in ENDPOINTS {
            assert!(seen.insert(endpoint.action), "{} twice", endpoint.action);
            assert!(
                endpoint
                    .action
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '-'),
                "{}",
                endpoint.action
            );
            let verb = endpoint.action.split('-').next().unwrap_or_default();
            assert!(
                [
                    "list",
                    "get",
                    "create",
                    "update",
                    "delete",
                    "add",
                    "remove",
                    "change",
                    "archive",
                    "unarchive",
                    "deactivate",
                    "reactivate"
                ]
                .contains(&verb),
                "{}",
                endpoint.action
            );
            assert!(!endpoint.path.starts_with('/'), "{}", endpoint.path);
            assert!(endpoint.scope.ends_with(":admin"), "{}", endpoint.scope);
        }
    }

    #[test]
    fn every_path_parameter_is_a_required_input() {
        let endpoint = find("get-note").unwrap();
        let params = endpoint.params();
        let names: Vec<&str> = params.iter().map(|p| p.name).collect();
        assert_eq!(names, ["opportunityId", "noteId"]);
        assert!(params.iter().all(|p| p.required));
        assert!(find("list-notes")
            .unwrap()
            .params()
            .iter()
            .any(|p| p.name == "page"));
    }

    #[test]
    fn the_coverage_the_platforms_asked_for_is_there() {
        for action in [
            "list-notes",
            "get-note",
            "create-note",
            "delete-note",
            "add-tags",
            "remove-tags",
            "add-sources",
            "remove-sources",
            "add-links",
            "remove-links",
            "archive-opportunity",
            "unarchive-opportunity",
            "list-archive-reasons",
            "list-interviews",
            "get-interview",
            "create-interview",
            "update-interview",
            "delete-interview",
            "list-panels",
            "list-feedback",
            "get-feedback",
            "create-feedback",
            "update-feedback",
            "delete-feedback",
            "list-feedback-templates",
            "get-feedback-template",
            "create-feedback-template",
            "update-feedback-template",
            "delete-feedback-template",
            "list-offers",
            "list-requisitions",
            "get-requisition",
            "create-requisition",
            "update-requisition",
            "delete-requisition",
            "list-requisition-fields",
            "list-referrals",
            "list-resumes",
            "list-files",
            "list-applications",
            "get-application",
            "get-application-questions",
            "get-eeo-responses",
            "list-users",
            "get-user",
            "create-user",
            "deactivate-user",
            "reactivate-user",
            "list-deleted-opportunities",
            "list-deleted-applications",
            "list-deleted-postings",
            "list-sources",
            "list-tags",
            "get-disposition-stages",
            "list-webhooks",
        ] {
            assert!(find(action).is_some(), "{action}");
        }
    }
}
