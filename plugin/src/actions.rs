//! The connector surface for integration platforms: nine Lever actions and a proxy, per
//! connection. Outputs are Lever's own JSON (`data` objects); errors keep Lever's status and
//! message.
//!
//! List actions page with a cursor of our own that keeps Lever's offset together with the
//! read's window (its `updated_at_end`, fixed when the read began) and the ids of the last
//! page: when Lever answers `Invalid offset token` (its tokens expire), the read restarts the
//! same window, skips what was already returned and drops those ids again, so a resumed read
//! neither loses nor repeats records.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::auth;
use crate::error::ConnectorError;
use crate::io::{Env, Method, UnixMillis};
use crate::lever::{self, LeverApi};
use crate::setup::{self, require_id};
use crate::store::ConnectionId;
use crate::sync::upload::Phone;

fn to_body(value: &Value) -> Result<Vec<u8>, ConnectorError> {
    serde_json::to_vec(value).map_err(|e| ConnectorError::Internal(e.to_string()))
}

fn data(env: &Env, request: crate::io::Request) -> Result<Value, ConnectorError> {
    lever::interpret(lever::send(env, request)?)
}

/// `value[key]`, or null.
pub(crate) fn field<'a>(value: &'a Value, key: &str) -> &'a Value {
    value.get(key).unwrap_or(&Value::Null)
}

/// Sets `key` of an object (a no-op on anything else).
pub(crate) fn set(body: &mut Value, key: &str, value: Value) {
    if let Some(map) = body.as_object_mut() {
        map.insert(key.to_string(), value);
    }
}

/// Inserts `key: value` into `body` unless `value` is `None`.
fn put<T: Serialize>(body: &mut Value, key: &str, value: &Option<T>) {
    if let Some(value) = value {
        set(body, key, json!(value));
    }
}

// ---- opportunities ----

/// The fields of a new opportunity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewOpportunity {
    /// Candidate name.
    pub name: String,
    /// Headline.
    #[serde(default)]
    pub headline: Option<String>,
    /// Emails (an existing contact with one of them is reused by Lever).
    #[serde(default)]
    pub emails: Vec<String>,
    /// Phones.
    #[serde(default)]
    pub phones: Vec<Phone>,
    /// Links.
    #[serde(default)]
    pub links: Vec<String>,
    /// Location.
    #[serde(default)]
    pub location: Option<String>,
    /// Initial stage (Lever's default is `lead-new`).
    #[serde(default)]
    pub stage: Option<String>,
    /// The posting to apply to.
    #[serde(default)]
    pub posting: Option<String>,
    /// Sources.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Origin.
    #[serde(default)]
    pub origin: Option<String>,
}

/// Creates an opportunity as the connection's `perform_as` user: `{deduped, data}`.
pub fn create_opportunity(
    env: &Env,
    c: &ConnectionId,
    input: &NewOpportunity,
) -> Result<Value, ConnectorError> {
    if input.name.trim().is_empty() {
        return Err(ConnectorError::InvalidInput("name is required".into()));
    }
    let perform_as = setup::require_perform_as(env, c)?;
    let api = auth::lever_api(env, c)?;
    let mut body = json!({
        "name": input.name,
        "emails": input.emails,
        "phones": input.phones,
        "links": input.links,
        "sources": input.sources,
        "tags": input.tags,
    });
    put(&mut body, "headline", &input.headline);
    put(&mut body, "location", &input.location);
    put(&mut body, "stage", &input.stage);
    put(&mut body, "origin", &input.origin);
    if let Some(posting) = &input.posting {
        set(&mut body, "postings", json!([posting]));
    }
    let request = api.request(
        Method::Post,
        &["opportunities"],
        &[("perform_as", perform_as.as_str())],
        Some(to_body(&body)?),
    );
    lever::interpret_body(lever::send(env, request)?)
}

/// Gets one opportunity.
pub fn get_opportunity(env: &Env, c: &ConnectionId, id: &str) -> Result<Value, ConnectorError> {
    require_id("opportunity id", id)?;
    let api = auth::lever_api(env, c)?;
    data(
        env,
        api.request(Method::Get, &["opportunities", id], &[], None),
    )
}

/// Every filter of `GET /opportunities` (combined with AND; list filters repeat the key).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OpportunityFilter {
    /// Contact email.
    pub email: Option<String>,
    /// Applied to this posting.
    pub posting_id: Option<String>,
    /// Archived from this posting.
    pub archived_posting_id: Option<String>,
    /// In this stage.
    pub stage_id: Option<String>,
    /// With any of these tags.
    #[serde(default)]
    pub tag: Vec<String>,
    /// Origin.
    pub origin: Option<String>,
    /// With any of these sources.
    #[serde(default)]
    pub source: Vec<String>,
    /// Of this contact.
    pub contact_id: Option<String>,
    /// Archived or not.
    pub archived: Option<bool>,
    /// Archived for this reason.
    pub archive_reason_id: Option<String>,
    /// Snoozed or not.
    pub snoozed: Option<bool>,
    /// Location.
    pub location: Option<String>,
    /// `all` to include confidential ones (needs confidential access).
    pub confidentiality: Option<String>,
    /// Created at or after (ms).
    pub created_at_start: Option<UnixMillis>,
    /// Created at or before (ms).
    pub created_at_end: Option<UnixMillis>,
    /// Updated at or after (ms): a usable incremental cursor.
    pub updated_at_start: Option<UnixMillis>,
    /// Updated at or before (ms).
    pub updated_at_end: Option<UnixMillis>,
    /// Advanced at or after (ms).
    pub advanced_at_start: Option<UnixMillis>,
    /// Advanced at or before (ms).
    pub advanced_at_end: Option<UnixMillis>,
    /// Archived at or after (ms).
    pub archived_at_start: Option<UnixMillis>,
    /// Archived at or before (ms).
    pub archived_at_end: Option<UnixMillis>,
}

impl OpportunityFilter {
    fn query(&self) -> Vec<(String, String)> {
        let mut q: Vec<(String, String)> = Vec::new();
        let mut one = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                q.push((k.to_string(), v));
            }
        };
        one("email", self.email.clone());
        one("posting_id", self.posting_id.clone());
        one("archived_posting_id", self.archived_posting_id.clone());
        one("stage_id", self.stage_id.clone());
        one("origin", self.origin.clone());
        one("contact_id", self.contact_id.clone());
        one("archived", self.archived.map(|b| b.to_string()));
        one("archive_reason_id", self.archive_reason_id.clone());
        one("snoozed", self.snoozed.map(|b| b.to_string()));
        one("location", self.location.clone());
        one("confidentiality", self.confidentiality.clone());
        for (k, v) in [
            ("created_at_start", self.created_at_start),
            ("created_at_end", self.created_at_end),
            ("updated_at_start", self.updated_at_start),
            ("updated_at_end", self.updated_at_end),
            ("advanced_at_start", self.advanced_at_start),
            ("advanced_at_end", self.advanced_at_end),
            ("archived_at_start", self.archived_at_start),
            ("archived_at_end", self.archived_at_end),
        ] {
            one(k, v.map(|v| v.to_string()));
        }
        q.extend(self.tag.iter().map(|t| ("tag".to_string(), t.clone())));
        q.extend(
            self.source
                .iter()
                .map(|s| ("source".to_string(), s.clone())),
        );
        q
    }
}

/// Where a list read starts and how much it takes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PageRequest {
    /// Page size, 1 to 100 (default 100).
    pub limit: Option<u8>,
    /// The `next` of the previous answer.
    pub cursor: Option<String>,
    /// Follow pages until this many records (or the end).
    pub all_pages_up_to: Option<u32>,
}

/// A page of Lever objects.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Page {
    /// The objects, as Lever shows them.
    pub data: Vec<Value>,
    /// Whether there are more.
    pub has_next: bool,
    /// The cursor for the rest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// Our cursor: Lever's offset, the read's window, what was returned so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Cursor {
    /// Lever's offset token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    o: Option<String>,
    /// The window's end (`updated_at_end`), fixed when the read began.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    w: Option<UnixMillis>,
    /// Records returned so far.
    #[serde(default)]
    n: u64,
    /// Ids of the last page returned.
    #[serde(default)]
    ids: Vec<String>,
}

fn encode_cursor(cursor: &Cursor) -> Result<String, ConnectorError> {
    let json = serde_json::to_vec(cursor).map_err(|e| ConnectorError::Internal(e.to_string()))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json))
}

fn decode_cursor(raw: &str) -> Result<Cursor, ConnectorError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw.as_bytes())
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| {
            ConnectorError::InvalidInput("cursor is not one this connector gave out".into())
        })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LeverPage {
    data: Vec<Value>,
    #[serde(default)]
    has_next: Option<bool>,
    #[serde(default)]
    next: Option<String>,
}

fn is_invalid_offset(error: &ConnectorError) -> bool {
    matches!(error, ConnectorError::Upstream { status: 400, message, .. } if message.to_ascii_lowercase().contains("offset"))
}

fn id_of(value: &Value) -> String {
    field(value, "id").as_str().unwrap_or_default().to_string()
}

/// Reads one or more pages of a list endpoint with our cursor (see the module docs).
pub(crate) fn read_pages(
    env: &Env,
    api: &LeverApi,
    segments: &[&str],
    base_query: &[(String, String)],
    windowed: bool,
    page: &PageRequest,
) -> Result<Page, ConnectorError> {
    let limit = page.limit.unwrap_or(100);
    if !(1..=100).contains(&limit) {
        return Err(ConnectorError::InvalidInput(
            "limit must be 1 to 100".into(),
        ));
    }
    let mut cursor = match &page.cursor {
        Some(raw) => decode_cursor(raw)?,
        None => Cursor {
            w: windowed.then(|| env.clock.now()),
            ..Cursor::default()
        },
    };
    let wanted = page.all_pages_up_to.map_or(u64::from(limit), u64::from);
    let mut out: Vec<Value> = Vec::new();
    let mut skip = 0u64;
    let mut restarted = false;
    loop {
        let limit_text = limit.to_string();
        let window = cursor.w.map(|w| w.to_string());
        let mut query: Vec<(&str, &str)> = base_query
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        query.push(("limit", &limit_text));
        if let Some(window) = &window {
            query.push(("updated_at_end", window));
        }
        if let Some(offset) = &cursor.o {
            query.push(("offset", offset));
        }
        let answer = lever::send(env, api.request(Method::Get, segments, &query, None))
            .and_then(lever::interpret_body::<LeverPage>);
        let lever_page = match answer {
            Ok(p) => p,
            Err(error) if is_invalid_offset(&error) && !restarted && cursor.o.is_some() => {
                // Lever's token expired: read the same window again from its start, skip what
                // was returned before, and drop the last page's ids if they come again.
                restarted = true;
                skip = cursor.n;
                cursor.o = None;
                continue;
            }
            Err(error) => return Err(error),
        };
        let more = lever_page.has_next == Some(true) && lever_page.next.is_some();
        let mut fresh = Vec::new();
        for item in lever_page.data {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            if restarted && cursor.ids.contains(&id_of(&item)) {
                continue;
            }
            fresh.push(item);
        }
        cursor.o = lever_page.next.filter(|_| more);
        if skip == 0 && !fresh.is_empty() {
            cursor.ids = fresh.iter().map(id_of).collect();
        }
        cursor.n += fresh.len() as u64;
        out.extend(fresh);
        if !more || (out.len() as u64 >= wanted && skip == 0) {
            let next = if more {
                Some(encode_cursor(&cursor)?)
            } else {
                None
            };
            return Ok(Page {
                data: out,
                has_next: more,
                next,
            });
        }
    }
}

/// Lists opportunities: one page, or every page up to `all_pages_up_to` records.
pub fn list_opportunities(
    env: &Env,
    c: &ConnectionId,
    filter: &OpportunityFilter,
    page: &PageRequest,
) -> Result<Page, ConnectorError> {
    let api = auth::lever_api(env, c)?;
    let windowed = filter.updated_at_end.is_none();
    read_pages(
        env,
        &api,
        &["opportunities"],
        &filter.query(),
        windowed,
        page,
    )
}

// ---- contacts ----

/// Gets one contact.
pub fn get_contact(env: &Env, c: &ConnectionId, id: &str) -> Result<Value, ConnectorError> {
    require_id("contact id", id)?;
    let api = auth::lever_api(env, c)?;
    data(env, api.request(Method::Get, &["contacts", id], &[], None))
}

/// Changes to a contact; fields left out are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContactUpdate {
    /// Name.
    pub name: Option<String>,
    /// Headline.
    pub headline: Option<String>,
    /// Location (a plain string).
    pub location: Option<String>,
    /// Emails (replace the list).
    pub emails: Option<Vec<String>>,
    /// Phones (replace the list).
    pub phones: Option<Vec<Phone>>,
}

/// Updates a contact (Lever keeps what is left out).
pub fn update_contact(
    env: &Env,
    c: &ConnectionId,
    id: &str,
    changes: &ContactUpdate,
) -> Result<Value, ConnectorError> {
    require_id("contact id", id)?;
    let api = auth::lever_api(env, c)?;
    let mut body = json!({});
    put(&mut body, "name", &changes.name);
    put(&mut body, "headline", &changes.headline);
    put(&mut body, "location", &changes.location);
    put(&mut body, "emails", &changes.emails);
    put(&mut body, "phones", &changes.phones);
    if body.as_object().is_some_and(|o| o.is_empty()) {
        return Err(ConnectorError::InvalidInput("nothing to change".into()));
    }
    data(
        env,
        api.request(Method::Put, &["contacts", id], &[], Some(to_body(&body)?)),
    )
}

// ---- postings ----

/// A posting's categories.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Categories {
    /// Team.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// Department.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Location.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Commitment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commitment: Option<String>,
    /// Level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
}

/// The fields of a new posting.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewPosting {
    /// Job title.
    pub text: String,
    /// State (Lever's default is `draft`).
    pub state: Option<String>,
    /// Categories.
    #[serde(default)]
    pub categories: Categories,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Plain-text description.
    pub description: Option<String>,
    /// `onsite`, `remote` or `hybrid`.
    pub workplace_type: Option<String>,
    /// Owner.
    pub owner: Option<String>,
    /// Hiring manager.
    pub hiring_manager: Option<String>,
}

/// Creates a posting as the connection's `perform_as` user.
pub fn create_posting(
    env: &Env,
    c: &ConnectionId,
    input: &NewPosting,
) -> Result<Value, ConnectorError> {
    if input.text.trim().is_empty() {
        return Err(ConnectorError::InvalidInput("text is required".into()));
    }
    let perform_as = setup::require_perform_as(env, c)?;
    let api = auth::lever_api(env, c)?;
    let mut body =
        json!({ "text": input.text, "categories": input.categories, "tags": input.tags });
    put(&mut body, "state", &input.state);
    put(&mut body, "workplaceType", &input.workplace_type);
    put(&mut body, "owner", &input.owner);
    put(&mut body, "hiringManager", &input.hiring_manager);
    if let Some(description) = &input.description {
        set(&mut body, "content", json!({ "description": description }));
    }
    let request = api.request(
        Method::Post,
        &["postings"],
        &[("perform_as", perform_as.as_str())],
        Some(to_body(&body)?),
    );
    data(env, request)
}

/// Changes to a posting; fields left out are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostingUpdate {
    /// Job title.
    pub text: Option<String>,
    /// State.
    pub state: Option<String>,
    /// Categories (the ones given are replaced).
    pub categories: Option<Categories>,
    /// Tags (replace the list).
    pub tags: Option<Vec<String>>,
    /// Plain-text description.
    pub description: Option<String>,
    /// Workplace type; cannot go back to `unspecified`.
    pub workplace_type: Option<String>,
}

/// Updates a posting (`POST /postings/:id`, partial) as the `perform_as` user.
pub fn update_posting(
    env: &Env,
    c: &ConnectionId,
    id: &str,
    changes: &PostingUpdate,
) -> Result<Value, ConnectorError> {
    require_id("posting id", id)?;
    let perform_as = setup::require_perform_as(env, c)?;
    let api = auth::lever_api(env, c)?;
    let mut body = json!({});
    put(&mut body, "text", &changes.text);
    put(&mut body, "state", &changes.state);
    put(&mut body, "categories", &changes.categories);
    put(&mut body, "tags", &changes.tags);
    put(&mut body, "workplaceType", &changes.workplace_type);
    if let Some(description) = &changes.description {
        set(&mut body, "content", json!({ "description": description }));
    }
    if body.as_object().is_some_and(|o| o.is_empty()) {
        return Err(ConnectorError::InvalidInput("nothing to change".into()));
    }
    let request = api.request(
        Method::Post,
        &["postings", id],
        &[("perform_as", perform_as.as_str())],
        Some(to_body(&body)?),
    );
    data(env, request)
}

/// Gets one posting.
pub fn get_posting(env: &Env, c: &ConnectionId, id: &str) -> Result<Value, ConnectorError> {
    require_id("posting id", id)?;
    let api = auth::lever_api(env, c)?;
    data(env, api.request(Method::Get, &["postings", id], &[], None))
}

/// Filters for listing postings. `updatedAtStart`/`End` cannot be combined with the others
/// (Lever's rule).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostingFilter {
    /// State.
    pub state: Option<String>,
    /// Team.
    pub team: Option<String>,
    /// Department.
    pub department: Option<String>,
    /// Location.
    pub location: Option<String>,
    /// Commitment.
    pub commitment: Option<String>,
    /// Level.
    pub level: Option<String>,
    /// Tag.
    pub tag: Option<String>,
    /// Distribution channel (`public` or `internal`).
    pub distribution_channel: Option<String>,
    /// `all` to include confidential ones.
    pub confidentiality: Option<String>,
    /// Updated at or after (ms).
    pub updated_at_start: Option<UnixMillis>,
    /// Updated at or before (ms).
    pub updated_at_end: Option<UnixMillis>,
}

/// Lists postings: one page, or every page up to `all_pages_up_to` records.
pub fn list_postings(
    env: &Env,
    c: &ConnectionId,
    filter: &PostingFilter,
    page: &PageRequest,
) -> Result<Page, ConnectorError> {
    let others: Vec<(&str, &Option<String>)> = vec![
        ("state", &filter.state),
        ("team", &filter.team),
        ("department", &filter.department),
        ("location", &filter.location),
        ("commitment", &filter.commitment),
        ("level", &filter.level),
        ("tag", &filter.tag),
        ("distribution_channel", &filter.distribution_channel),
    ];
    let has_others = others.iter().any(|(_, v)| v.is_some());
    let has_window = filter.updated_at_start.is_some() || filter.updated_at_end.is_some();
    if has_others && has_window {
        return Err(ConnectorError::InvalidInput(
            "updatedAtStart/updatedAtEnd cannot be combined with other posting filters (Lever's rule)".into(),
        ));
    }
    let mut query: Vec<(String, String)> = others
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k.to_string(), v.clone())))
        .collect();
    if let Some(c) = &filter.confidentiality {
        query.push(("confidentiality".into(), c.clone()));
    }
    if let Some(start) = filter.updated_at_start {
        query.push(("updated_at_start".into(), start.to_string()));
    }
    if let Some(end) = filter.updated_at_end {
        query.push(("updated_at_end".into(), end.to_string()));
    }
    let api = auth::lever_api(env, c)?;
    let windowed = !has_others && filter.updated_at_end.is_none();
    read_pages(env, &api, &["postings"], &query, windowed, page)
}

// ---- proxy ----

/// A raw Lever request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyRequest {
    /// Method.
    pub method: Method,
    /// Path below the API root, such as `/opportunities/ID/notes`.
    pub path: String,
    /// Query pairs.
    pub query: Vec<(String, String)>,
    /// JSON body text.
    pub body: Option<String>,
    /// Add `perform_as=<the connection's user>`.
    pub perform_as: bool,
}

/// Lever's raw answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyResponse {
    /// Status.
    pub status: u16,
    /// Content type, when Lever sent one.
    pub content_type: Option<String>,
    /// Body bytes (a file download is not text).
    pub body: Vec<u8>,
}

/// The path's segments, decoded, when it stays below the API root; else why not.
pub fn confine(path: &str) -> Result<Vec<String>, ConnectorError> {
    let refuse = |why: &str| {
        Err(ConnectorError::InvalidInput(format!(
            "proxy path {path:?} {why}: it must be a path below the Lever API root"
        )))
    };
    if !path.starts_with('/') || path.starts_with("//") {
        return refuse("is not a relative path");
    }
    if path.contains("://")
        || path.contains('\\')
        || path.contains('@')
        || path.contains('?')
        || path.contains('#')
    {
        return refuse("names another location");
    }
    let mut segments = Vec::new();
    for raw in path.trim_start_matches('/').split('/') {
        let decoded = percent_encoding::percent_decode_str(raw)
            .decode_utf8()
            .map_err(|_| {
                ConnectorError::InvalidInput(format!("proxy path {path:?} is not UTF-8"))
            })?;
        if decoded.is_empty() {
            return refuse("has an empty segment");
        }
        if decoded == "."
            || decoded == ".."
            || decoded.contains('/')
            || decoded.contains('\\')
            || decoded.contains('%')
        {
            return refuse("tries to leave the API root");
        }
        if decoded.chars().any(char::is_control) {
            return refuse("has control characters");
        }
        segments.push(decoded.into_owned());
    }
    Ok(segments)
}

/// Sends a raw request below the connection's Lever API root with its credentials (and
/// `perform_as` when asked); Lever's answer comes back as it is.
pub fn proxy(
    env: &Env,
    c: &ConnectionId,
    request: &ProxyRequest,
) -> Result<ProxyResponse, ConnectorError> {
    let segments = confine(&request.path)?;
    let api = auth::lever_api(env, c)?;
    let perform_as = if request.perform_as {
        Some(setup::require_perform_as(env, c)?)
    } else {
        None
    };
    let mut query: Vec<(&str, &str)> = request
        .query
        .iter()
        .filter(|(k, _)| k != "perform_as" || perform_as.is_none())
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    if let Some(user) = &perform_as {
        query.push(("perform_as", user.as_str()));
    }
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let body = request.body.as_ref().map(|b| b.as_bytes().to_vec());
    let outgoing = api.request(request.method, &segments, &query, body);
    let response = lever::send(env, outgoing)?;
    Ok(ProxyResponse {
        status: response.status,
        content_type: response.header("content-type").map(String::from),
        body: response.body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_proxy_stays_below_the_api_root() {
        assert_eq!(
            confine("/opportunities/abc/notes").unwrap(),
            ["opportunities", "abc", "notes"]
        );
        assert_eq!(confine("/contacts/a%20b").unwrap(), ["contacts", "a b"]);
        for bad in [
            "opportunities",
            "//evil.example/v1",
            "https://evil.example/v1/stages",
            "/../admin",
            "/stages/..",
            "/stages/%2e%2e/x",
            "/stages/%2E%2E",
            "/a%2fb",
            "/a%252e%252e",
            "/a\\b",
            "/user@evil.example",
            "/stages?x=1",
            "/stages//x",
            "/a%00b",
        ] {
            assert!(confine(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_refused() {
        let cursor = Cursor {
            o: Some("eyJvZmZzZXQiOjF9".into()),
            w: Some(1_800_000_000_123),
            n: 100,
            ids: vec!["a".into()],
        };
        assert_eq!(
            decode_cursor(&encode_cursor(&cursor).unwrap()).unwrap(),
            cursor
        );
        assert!(decode_cursor("not-ours").is_err());
    }

    #[test]
    fn every_opportunity_filter_reaches_the_query() {
        let filter = OpportunityFilter {
            email: Some("a@b.c".into()),
            tag: vec!["x".into(), "y".into()],
            archived: Some(false),
            updated_at_start: Some(1_763_942_401_001),
            ..OpportunityFilter::default()
        };
        let q = filter.query();
        assert!(q.contains(&("email".into(), "a@b.c".into())));
        assert!(q.contains(&("archived".into(), "false".into())));
        assert!(q.contains(&("updated_at_start".into(), "1763942401001".into())));
        assert_eq!(q.iter().filter(|(k, _)| k == "tag").count(), 2);
    }
}
