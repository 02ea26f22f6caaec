//! Candidate upload: a candidate submitted on the partner platform becomes a Lever
//! opportunity on the posting linked to its role, at the connection's upload stage, exactly
//! once per partner candidate id.
//!
//! Lever has no idempotency key and dedupes only contacts (by email), so the connector
//! guards itself: an upload intent is claimed (compare-and-swap) before Lever is called.
//! An attempt that ends without knowing whether Lever created the opportunity (a 5xx, a
//! lost answer, a stopped instance) leaves the intent "uncertain"; the next submission first
//! looks for the opportunity that attempt may have created (same posting, created since the
//! attempt began, same email or application link) and adopts it instead of creating a
//! second one.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::auth;
use crate::config;
use crate::error::ConnectorError;
use crate::io::{Env, HttpUrl, Method, UnixMillis};
use crate::lever::{self, default_upload_stage, LeverApi, Opportunity, StageId};
use crate::multipart::Form;
use crate::setup::{self, require_id};
use crate::store::{ConnStore, ConnectionId, Store, UploadIntent, UploadState};

/// Lever's file types for resumes.
pub const RESUME_TYPES: [&str; 6] = ["pdf", "doc", "docx", "txt", "png", "jpg"];
/// Lever's file size limit.
pub const MAX_RESUME_BYTES: usize = 30 * 1024 * 1024;
/// How far before an attempt began a found opportunity's `createdAt` may be (clock skew).
const FIND_SKEW_MS: u64 = 60 * 1000;

/// A phone number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phone {
    /// `mobile`, `home`, `work`, `skype` or `other`.
    #[serde(rename = "type", default = "other")]
    pub kind: String,
    /// The number.
    pub value: String,
}

fn other() -> String {
    "other".into()
}

/// Where a resume's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResumeSource {
    /// Given inline.
    Bytes(Vec<u8>),
    /// Fetched by the connector (the host must allow the URL's host).
    Url(HttpUrl),
}

/// A resume file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resume {
    /// File name with extension.
    pub file_name: String,
    /// MIME type.
    pub content_type: String,
    /// The bytes or where to get them.
    pub source: ResumeSource,
}

/// A candidate submitted on the partner platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    /// The partner's candidate id: the idempotency key.
    pub partner_candidate_id: String,
    /// The partner role, linked to a Lever posting.
    pub partner_role_id: String,
    /// Full name.
    pub name: String,
    /// Email addresses.
    pub emails: Vec<String>,
    /// Phone numbers.
    pub phones: Vec<Phone>,
    /// LinkedIn profile.
    pub linkedin_url: Option<String>,
    /// The application on the partner platform.
    pub application_url: Option<String>,
    /// A note for the hiring team.
    pub note: Option<String>,
    /// A resume.
    pub resume: Option<Resume>,
}

/// The JSON of `POST /connections/{c}/candidates`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubmissionBody {
    partner_candidate_id: String,
    partner_role_id: String,
    name: String,
    #[serde(default)]
    emails: Vec<String>,
    #[serde(default)]
    phones: Vec<Phone>,
    #[serde(default)]
    linkedin_url: Option<String>,
    #[serde(default)]
    application_url: Option<String>,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    resume: Option<ResumeBody>,
}

/// A resume in JSON: `contentBase64` or `url`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResumeBody {
    file_name: String,
    #[serde(default)]
    content_type: Option<String>,
    #[serde(default)]
    content_base64: Option<String>,
    #[serde(default)]
    url: Option<String>,
}

impl TryFrom<SubmissionBody> for Submission {
    type Error = ConnectorError;

    fn try_from(body: SubmissionBody) -> Result<Self, Self::Error> {
        let resume = match body.resume {
            None => None,
            Some(r) => {
                let source = match (r.content_base64, r.url) {
                    (Some(b64), None) => ResumeSource::Bytes(
                        base64::engine::general_purpose::STANDARD
                            .decode(b64.as_bytes())
                            .map_err(|_| {
                                ConnectorError::InvalidInput(
                                    "resume.contentBase64 is not base64".into(),
                                )
                            })?,
                    ),
                    (None, Some(url)) => ResumeSource::Url(resume_url(&url)?),
                    _ => {
                        return Err(ConnectorError::InvalidInput(
                            "resume needs exactly one of contentBase64 and url".into(),
                        ))
                    }
                };
                Some(resume(r.file_name, r.content_type, source))
            }
        };
        Ok(Self {
            partner_candidate_id: body.partner_candidate_id,
            partner_role_id: body.partner_role_id,
            name: body.name,
            emails: body.emails,
            phones: body.phones,
            linkedin_url: body.linkedin_url,
            application_url: body.application_url,
            note: body.note,
            resume,
        })
    }
}

/// A resume URL: http(s) only.
pub fn resume_url(url: &str) -> Result<HttpUrl, ConnectorError> {
    HttpUrl::parse(url)
        .ok_or_else(|| ConnectorError::InvalidInput("resume.url is not an http(s) URL".into()))
}

/// A resume; without a content type, the one its file name's extension says.
pub fn resume(file_name: String, content_type: Option<String>, source: ResumeSource) -> Resume {
    Resume {
        content_type: content_type.unwrap_or_else(|| content_type_for(&file_name).into()),
        file_name,
        source,
    }
}

fn extension(file_name: &str) -> String {
    file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default()
}

/// The media type a file name's extension says (`application/octet-stream` otherwise).
pub fn content_type_for(file_name: &str) -> &'static str {
    match extension(file_name).as_str() {
        "pdf" => "application/pdf",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "txt" => "text/plain",
        "png" => "image/png",
        "jpg" => "image/jpeg",
        _ => "application/octet-stream",
    }
}

/// The submission with a resume content type guessed from its extension when none was
/// given.
fn with_content_type(submission: &Submission) -> Submission {
    let mut submission = submission.clone();
    if let Some(resume) = &mut submission.resume {
        if resume.content_type.is_empty() || resume.content_type == "application/octet-stream" {
            resume.content_type = content_type_for(&resume.file_name).into();
        }
    }
    submission
}

/// The answer to a submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Uploaded {
    /// The connection.
    pub connection_id: ConnectionId,
    /// The partner candidate.
    pub partner_candidate_id: String,
    /// The Lever opportunity.
    pub opportunity_id: String,
    /// Its page in Lever.
    pub url: Option<String>,
    /// The posting it applies to.
    pub posting_id: String,
    /// The stage it was placed in.
    pub stage_id: String,
    /// Whether Lever attached it to an existing contact with the same email.
    pub deduped: bool,
    /// False when this submission was already uploaded (nothing was created now).
    pub created: bool,
}

fn validate(submission: &Submission) -> Result<(), ConnectorError> {
    require_id("partnerCandidateId", &submission.partner_candidate_id)?;
    require_id("partnerRoleId", &submission.partner_role_id)?;
    if submission.name.trim().is_empty() || submission.name.len() > 500 {
        return Err(ConnectorError::InvalidInput(
            "name must be 1 to 500 characters".into(),
        ));
    }
    for email in &submission.emails {
        if !email.contains('@') || email.len() > 320 || email.chars().any(char::is_whitespace) {
            return Err(ConnectorError::InvalidInput(format!(
                "{email:?} is not an email address"
            )));
        }
    }
    for phone in &submission.phones {
        if !["mobile", "home", "work", "skype", "other"].contains(&phone.kind.as_str()) {
            return Err(ConnectorError::InvalidInput(format!(
                "phone type {:?} is not one of mobile, home, work, skype, other",
                phone.kind
            )));
        }
    }
    for (name, url) in [
        ("linkedinUrl", &submission.linkedin_url),
        ("applicationUrl", &submission.application_url),
    ] {
        if let Some(url) = url {
            if HttpUrl::parse(url).is_none() {
                return Err(ConnectorError::InvalidInput(format!(
                    "{name} is not an http(s) URL"
                )));
            }
        }
    }
    if let Some(resume) = &submission.resume {
        let ext = extension(&resume.file_name);
        if !RESUME_TYPES.contains(&ext.as_str()) {
            return Err(ConnectorError::InvalidInput(format!(
                "resume {:?}: Lever takes {} files",
                resume.file_name,
                RESUME_TYPES.join(", ")
            )));
        }
        if let ResumeSource::Bytes(bytes) = &resume.source {
            check_size(bytes.len())?;
        }
    }
    Ok(())
}

fn check_size(len: usize) -> Result<(), ConnectorError> {
    if len == 0 {
        return Err(ConnectorError::InvalidInput("the resume is empty".into()));
    }
    if len > MAX_RESUME_BYTES {
        return Err(ConnectorError::TooLarge(MAX_RESUME_BYTES as u64));
    }
    Ok(())
}

fn resume_bytes(env: &Env, resume: &Resume) -> Result<Vec<u8>, ConnectorError> {
    match &resume.source {
        ResumeSource::Bytes(bytes) => Ok(bytes.clone()),
        ResumeSource::Url(url) => {
            let response = env
                .http
                .send(crate::io::Request {
                    method: Method::Get,
                    url: url.clone(),
                    headers: vec![("user-agent".into(), lever::USER_AGENT.into())],
                    body: None,
                    bucket: None,
                    background: false,
                })
                .map_err(|e| ConnectorError::InvalidInput(format!("fetching the resume: {e}")))?;
            if !(200..300).contains(&response.status) {
                return Err(ConnectorError::InvalidInput(format!(
                    "fetching the resume answered {}",
                    response.status
                )));
            }
            check_size(response.body.len())?;
            Ok(response.body)
        }
    }
}

/// Everything the upload needs from settings, read before anything is written.
struct Plan {
    posting_id: String,
    perform_as: String,
    stage: StageId,
    tags: Vec<String>,
    source: String,
}

fn plan(
    env: &Env,
    c: &ConnectionId,
    store: &ConnStore,
    api: &LeverApi,
    role: &str,
) -> Result<Plan, ConnectorError> {
    let posting_id = store.roles()?.get(role).cloned().ok_or_else(|| {
        ConnectorError::NotFound(format!(
            "partner role {role} is not linked to a Lever posting on connection {c}"
        ))
    })?;
    let perform_as = setup::require_perform_as(env, c)?.0;
    let stage = match store.upload_stage()? {
        Some(stage) => stage,
        None => {
            let stages = setup::stages(env, c, api)?;
            default_upload_stage(&stages).map(|s| s.id.clone()).ok_or_else(|| {
                ConnectorError::NotConfigured(format!(
                    "upload stage (Lever has no screen or interview stage on connection {c}; choose one)"
                ))
            })?
        }
    };
    Ok(Plan {
        posting_id,
        perform_as,
        stage,
        tags: store.upload_tags()?,
        source: config::partner_name(env.config)?,
    })
}

#[derive(Deserialize)]
struct Created {
    #[serde(default)]
    deduped: bool,
    data: Opportunity,
}

fn create(
    env: &Env,
    api: &LeverApi,
    submission: &Submission,
    plan: &Plan,
    resume: Option<(&Resume, Vec<u8>)>,
) -> Result<(Opportunity, bool), ConnectorError> {
    let links: Vec<&String> = submission
        .linkedin_url
        .iter()
        .chain(submission.application_url.iter())
        .collect();
    let query = [("perform_as", plan.perform_as.as_str())];
    let request = match resume {
        None => {
            let body = json!({
                "name": submission.name,
                "emails": submission.emails,
                "phones": submission.phones,
                "links": links,
                "sources": [plan.source],
                "origin": "agency",
                "tags": plan.tags,
                "postings": [plan.posting_id],
                "stage": plan.stage,
            });
            let bytes =
                serde_json::to_vec(&body).map_err(|e| ConnectorError::Internal(e.to_string()))?;
            api.request(Method::Post, &["opportunities"], &query, Some(bytes))
        }
        Some((resume, bytes)) => {
            let mut form = Form::new(&env.random.bytes(16))
                .text("name", &submission.name)
                .text("origin", "agency")
                .text("stage", plan.stage.as_str())
                .text("postings[]", &plan.posting_id)
                .text("sources[]", &plan.source);
            for email in &submission.emails {
                form = form.text("emails[]", email);
            }
            for link in &links {
                form = form.text("links[]", link);
            }
            for tag in &plan.tags {
                form = form.text("tags[]", tag);
            }
            for (i, phone) in submission.phones.iter().enumerate() {
                form = form
                    .text(&format!("phones[{i}][type]"), &phone.kind)
                    .text(&format!("phones[{i}][value]"), &phone.value);
            }
            let (content_type, body) = form
                .file(
                    "resumeFile",
                    &resume.file_name,
                    &resume.content_type,
                    &bytes,
                )
                .finish();
            api.request_typed(
                Method::Post,
                &["opportunities"],
                &query,
                &content_type,
                body,
            )
        }
    };
    let response = lever::send(env, request)?;
    if response.status == 422 {
        return Err(ConnectorError::InvalidInput(format!(
            "Lever refused the resume: {}",
            lever::interpret_error(&response)
        )));
    }
    let created: Created = lever::interpret_body(response)?;
    Ok((created.data, created.deduped))
}

/// Looks for the opportunity an earlier, uncertain attempt may have created.
fn find_again(
    env: &Env,
    api: &LeverApi,
    submission: &Submission,
    plan: &Plan,
    started_at: UnixMillis,
) -> Result<Option<Opportunity>, ConnectorError> {
    let since = started_at.saturating_sub(FIND_SKEW_MS).to_string();
    let mut query = vec![
        ("posting_id", plan.posting_id.as_str()),
        ("created_at_start", since.as_str()),
        ("origin", "agency"),
    ];
    if let Some(email) = submission.emails.first() {
        query.push(("email", email.as_str()));
    }
    let found: Vec<Opportunity> = lever::list_all(env, api, &["opportunities"], &query)?;
    Ok(found.into_iter().find(|o| {
        let same_link = submission
            .application_url
            .as_ref()
            .is_some_and(|url| o.links.contains(url));
        let same_email = submission
            .emails
            .iter()
            .any(|e| o.emails.iter().any(|x| x.eq_ignore_ascii_case(e)));
        same_link
            || same_email
            || (submission.emails.is_empty()
                && submission.application_url.is_none()
                && o.name == submission.name)
    }))
}

fn attach_note(
    env: &Env,
    api: &LeverApi,
    opportunity: &str,
    note: &str,
    perform_as: &str,
) -> Result<(), ConnectorError> {
    let body = serde_json::to_vec(&json!({ "value": note, "secret": false }))
        .map_err(|e| ConnectorError::Internal(e.to_string()))?;
    let request = api.request(
        Method::Post,
        &["opportunities", opportunity, "notes"],
        &[("perform_as", perform_as)],
        Some(body),
    );
    lever::interpret_body::<serde_json::Value>(lever::send(env, request)?).map(drop)
}

fn answer(c: &ConnectionId, pcid: &str, intent: &UploadIntent, created: bool) -> Uploaded {
    Uploaded {
        connection_id: c.clone(),
        partner_candidate_id: pcid.to_string(),
        opportunity_id: intent.opportunity_id.clone().unwrap_or_default(),
        url: intent.url.clone(),
        posting_id: intent.posting_id.clone(),
        stage_id: intent.stage_id.clone(),
        deduped: intent.deduped,
        created,
    }
}

/// Uploads a submitted candidate (see the module docs). Errors: `invalid-input` for bad
/// fields or a resume Lever cannot take; `too-large` for a resume over 30 MB; `not-found`
/// for an unlinked role; `not-configured` for `perform_as`; `conflict` while another
/// attempt for the same candidate is under way (retry); `upstream` when Lever failed.
pub fn submit(
    env: &Env,
    c: &ConnectionId,
    submission: &Submission,
) -> Result<Uploaded, ConnectorError> {
    let result = submit_once(env, c, submission);
    crate::activity::partner_call(env, c, "candidate upload", result, |u| {
        format!(
            "candidate {} {} opportunity {}",
            u.partner_candidate_id,
            if u.created {
                "uploaded as"
            } else {
                "was already uploaded as"
            },
            u.opportunity_id
        )
    })
}

fn submit_once(
    env: &Env,
    c: &ConnectionId,
    submission: &Submission,
) -> Result<Uploaded, ConnectorError> {
    validate(submission)?;
    let submission = &with_content_type(submission);
    let pcid = submission.partner_candidate_id.as_str();
    let store = Store::new(env.kv).connection(c);
    let now = env.clock.now();

    // Done before: answer the same opportunity, create nothing (a note a crash left
    // unattached is attached now).
    let existing = store.upload_intent(pcid)?;
    if let Some(v) = &existing {
        if v.value.state == UploadState::Created {
            if v.value.note_pending {
                let api = auth::lever_api(env, c)?;
                finish(env, &api, &store, submission, c, v.value.clone(), &v.raw)?;
            }
            return Ok(answer(c, pcid, &v.value, false));
        }
    }
    if existing.is_none() {
        if let Some(opportunity) = store.linked_opportunity(pcid)? {
            return Err(ConnectorError::Conflict(format!(
                "partner candidate {pcid} is already linked to opportunity {opportunity} (linked by hand, not uploaded)"
            )));
        }
    }

    let api = auth::lever_api(env, c)?;
    let plan = plan(env, c, &store, &api, &submission.partner_role_id)?;
    let resume = match &submission.resume {
        Some(resume) => Some((resume, resume_bytes(env, resume)?)),
        None => None,
    };

    // Claim the intent.
    let mut intent = UploadIntent {
        state: UploadState::Creating,
        started_at: now,
        lease_until: now.saturating_add(config::delivery_lease_ms(env.config)?),
        opportunity_id: None,
        url: None,
        posting_id: plan.posting_id.clone(),
        stage_id: plan.stage.0.clone(),
        deduped: false,
        note_pending: submission.note.is_some(),
        attempt: hex::encode(env.random.bytes(12)),
    };
    let mut search_since = None;
    if let Some(v) = &existing {
        let previous = &v.value;
        if previous.state == UploadState::Creating && previous.lease_until > now {
            return Err(ConnectorError::Conflict(format!(
                "partner candidate {pcid} is being uploaded by another request; retry shortly"
            )));
        }
        // An earlier attempt ended without an answer: it may have created the opportunity.
        // The search for it starts when the first such attempt began, and so does this
        // attempt's own record (if it too ends without an answer).
        search_since = Some(previous.started_at);
        intent.started_at = previous.started_at;
    }
    let raw = serde_json::to_vec(&intent).map_err(|e| ConnectorError::Internal(e.to_string()))?;
    if !store.swap_upload_intent(pcid, existing.as_ref().map(|v| v.raw.as_slice()), &raw)? {
        return Err(ConnectorError::Conflict(format!(
            "partner candidate {pcid} is being uploaded by another request; retry shortly"
        )));
    }

    let adopted = match search_since {
        Some(since) => match find_again(env, &api, submission, &plan, since) {
            Ok(found) => found,
            Err(error) => {
                // Still uncertain: hand the intent back at once rather than hold it for the
                // lease (every retry would be refused until then).
                let mut uncertain = intent.clone();
                uncertain.state = UploadState::Uncertain;
                let bytes = serde_json::to_vec(&uncertain)
                    .map_err(|e| ConnectorError::Internal(e.to_string()))?;
                store.swap_upload_intent(pcid, Some(&raw), &bytes)?;
                return Err(error);
            }
        },
        None => None,
    };
    let (opportunity, deduped, created) = match adopted {
        Some(found) => (found, false, false),
        None => match create(env, &api, submission, &plan, resume) {
            Ok((opportunity, deduped)) => (opportunity, deduped, true),
            Err(error) => {
                // A refusal (4xx) created nothing: forget the intent. Anything else may have
                // created it: leave the intent uncertain so the retry looks first.
                let definite = matches!(
                    error,
                    ConnectorError::InvalidInput(_)
                        | ConnectorError::Unauthorized(_)
                        | ConnectorError::NotFound(_)
                        | ConnectorError::RateLimited { .. }
                ) || matches!(
                    error,
                    ConnectorError::Upstream {
                        status: 400..=499,
                        ..
                    }
                );
                if definite {
                    store.delete_upload_intent(pcid)?;
                } else {
                    intent.state = UploadState::Uncertain;
                    let uncertain = serde_json::to_vec(&intent)
                        .map_err(|e| ConnectorError::Internal(e.to_string()))?;
                    store.swap_upload_intent(pcid, Some(&raw), &uncertain)?;
                }
                return Err(error);
            }
        },
    };

    intent.state = UploadState::Created;
    intent.opportunity_id = Some(opportunity.id.0.clone());
    intent.url = opportunity.urls.show.clone();
    intent.stage_id = opportunity.stage.0.clone();
    intent.deduped = deduped;
    let created_raw =
        serde_json::to_vec(&intent).map_err(|e| ConnectorError::Internal(e.to_string()))?;
    if !store.swap_upload_intent(pcid, Some(&raw), &created_raw)? {
        return Err(ConnectorError::Conflict(format!(
            "the upload of partner candidate {pcid} changed underneath; retry"
        )));
    }
    store.link(pcid, &opportunity.id)?;
    // The partner learns the stage from this answer: Lever's webhook for it is no news.
    store.set_reported_stage(&opportunity.id, &opportunity.stage)?;
    let intent = finish(env, &api, &store, submission, c, intent, &created_raw)?;
    Ok(answer(c, pcid, &intent, created))
}

/// Attaches the note if still pending, and records that it was.
fn finish(
    env: &Env,
    api: &LeverApi,
    store: &ConnStore,
    submission: &Submission,
    c: &ConnectionId,
    mut intent: UploadIntent,
    raw: &[u8],
) -> Result<UploadIntent, ConnectorError> {
    let (Some(note), Some(opportunity)) = (&submission.note, &intent.opportunity_id) else {
        return Ok(intent);
    };
    if !intent.note_pending {
        return Ok(intent);
    }
    let perform_as = setup::require_perform_as(env, c)?;
    attach_note(env, api, opportunity, note, perform_as.as_str())?;
    intent.note_pending = false;
    let done = serde_json::to_vec(&intent).map_err(|e| ConnectorError::Internal(e.to_string()))?;
    store.swap_upload_intent(&submission.partner_candidate_id, Some(raw), &done)?;
    Ok(intent)
}
