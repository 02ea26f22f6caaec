//! Lever's interview webhooks for a linked candidate become partner events:
//! `interviewCreated` → `candidate.interview_scheduled`, `interviewUpdated` →
//! `candidate.interview_updated`, `interviewDeleted` → `candidate.interview_cancelled`.
//!
//! Like every event, the delivery's data is not trusted (Lever does not sign it): the
//! interview is read from Lever first. A scheduled or updated interview must be there (and
//! not canceled); a cancelled one must be gone or canceled. The event carries when, where
//! and who; the interview's feedback only when the connection opted in
//! (`PUT /connections/{c}/interview-feedback`).

use serde::{Deserialize, Serialize};

use crate::auth;
use crate::config;
use crate::error::ConnectorError;
use crate::io::{Env, Method, UnixMillis};
use crate::lever::{self, OpportunityId};
use crate::partner::{self, CandidateRef, PartnerEvent};
use crate::store::{ConnectionId, Store};
use crate::sync::stage::{notify, Forwarded, Outcome, SkipReason};

/// What an interview webhook says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// `interviewCreated`.
    Scheduled,
    /// `interviewUpdated`.
    Updated,
    /// `interviewDeleted`.
    Cancelled,
}

impl Change {
    /// The partner event type.
    pub fn event_type(self) -> &'static str {
        match self {
            Change::Scheduled => partner::INTERVIEW_SCHEDULED,
            Change::Updated => partner::INTERVIEW_UPDATED,
            Change::Cancelled => partner::INTERVIEW_CANCELLED,
        }
    }
}

/// The data of an interview webhook.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InterviewData {
    /// The opportunity.
    pub opportunity_id: OpportunityId,
    /// The interview.
    pub interview_id: String,
    /// Its panel.
    #[serde(default)]
    pub panel_id: Option<String>,
    /// The contact (as the delivery says; the interview itself is read from Lever).
    #[serde(default)]
    pub contact_id: Option<String>,
}

/// An interviewer, as the partner sees one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Interviewer {
    /// The Lever user.
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Email.
    #[serde(default)]
    pub email: Option<String>,
}

/// An interview as Lever shows it (the fields the event carries; feedback is left out).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LeverInterview {
    id: String,
    #[serde(default)]
    panel: Option<String>,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    date: Option<UnixMillis>,
    #[serde(default)]
    duration: Option<u64>,
    #[serde(default)]
    timezone: Option<String>,
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    interviewers: Vec<Interviewer>,
    #[serde(default)]
    canceled_at: Option<UnixMillis>,
    #[serde(default)]
    feedback_forms: Vec<String>,
}

/// One feedback form of an interview, as an opted-in connection gets it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Feedback {
    /// Lever's feedback form.
    pub id: String,
    /// The template's name.
    #[serde(default)]
    pub text: Option<String>,
    /// Who gave it.
    #[serde(default)]
    pub user: Option<String>,
    /// When it was completed.
    #[serde(default)]
    pub completed_at: Option<UnixMillis>,
    /// The answers.
    #[serde(default)]
    pub fields: Vec<FeedbackField>,
}

/// One answer of a feedback form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedbackField {
    /// The question.
    #[serde(default)]
    pub text: Option<String>,
    /// The answer.
    #[serde(default)]
    pub value: serde_json::Value,
}

/// When, where and who: the interview in a partner event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InterviewInfo {
    /// Lever's interview id.
    pub id: String,
    /// Its panel.
    pub panel_id: Option<String>,
    /// Its subject.
    pub subject: Option<String>,
    /// When it starts (Unix ms).
    pub starts_at: Option<UnixMillis>,
    /// How long, in minutes.
    pub duration_minutes: Option<u64>,
    /// The time zone it was scheduled in.
    pub timezone: Option<String>,
    /// Where (a room or a video link).
    pub location: Option<String>,
    /// Who interviews.
    pub interviewers: Vec<Interviewer>,
    /// Its feedback forms: only for a connection that opted in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feedback: Option<Vec<Feedback>>,
}

/// `data` of the interview events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InterviewEvent {
    /// The candidate.
    #[serde(flatten)]
    pub candidate: CandidateRef,
    /// The interview; for a cancellation, its last known details when Lever still shows
    /// them, else only its id.
    pub interview: InterviewInfo,
}

fn info(interview: LeverInterview) -> InterviewInfo {
    InterviewInfo {
        feedback: None,
        id: interview.id,
        panel_id: interview.panel,
        subject: interview.subject,
        starts_at: interview.date,
        duration_minutes: interview.duration,
        timezone: interview.timezone,
        location: interview.location,
        interviewers: interview.interviewers,
    }
}

/// Handles an interview webhook for `connection`.
pub fn changed(
    env: &Env,
    c: &ConnectionId,
    change: Change,
    data: &InterviewData,
) -> Result<Outcome, ConnectorError> {
    let store = Store::new(env.kv).connection(c);
    let Some(pcid) = store.linked_candidate(&data.opportunity_id)? else {
        return Ok(Outcome::Skipped(SkipReason::NotLinked {
            opportunity_id: data.opportunity_id.to_string(),
        }));
    };
    let partner_settings = config::partner(env.config)?;
    let api = auth::lever_api(env, c)?;
    let request = api.request(
        Method::Get,
        &[
            "opportunities",
            data.opportunity_id.as_str(),
            "interviews",
            &data.interview_id,
        ],
        &[],
        None,
    );
    let found = match lever::interpret::<LeverInterview>(lever::send(env, request)?) {
        Ok(interview) => Some(interview),
        Err(ConnectorError::NotFound(_)) => None,
        Err(e) => return Err(e),
    };
    let not_confirmed = || {
        Ok(Outcome::Skipped(SkipReason::InterviewNotConfirmed {
            interview_id: data.interview_id.clone(),
        }))
    };
    let forms = found
        .as_ref()
        .map(|i| i.feedback_forms.clone())
        .unwrap_or_default();
    let mut interview = match (change, found) {
        (Change::Scheduled | Change::Updated, Some(i)) if i.canceled_at.is_none() => info(i),
        (Change::Scheduled | Change::Updated, _) => return not_confirmed(),
        (Change::Cancelled, Some(i)) if i.canceled_at.is_some() => info(i),
        (Change::Cancelled, Some(_)) => return not_confirmed(),
        (Change::Cancelled, None) => InterviewInfo {
            id: data.interview_id.clone(),
            panel_id: data.panel_id.clone(),
            subject: None,
            starts_at: None,
            duration_minutes: None,
            timezone: None,
            location: None,
            interviewers: Vec::new(),
            feedback: None,
        },
    };
    if change != Change::Cancelled && store.interview_feedback()? {
        let mut feedback = Vec::new();
        for form in &forms {
            let request = api.request(
                Method::Get,
                &[
                    "opportunities",
                    data.opportunity_id.as_str(),
                    "feedback",
                    form,
                ],
                &[],
                None,
            );
            match lever::interpret::<Feedback>(lever::send(env, request)?) {
                Ok(found) => feedback.push(found),
                Err(ConnectorError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        interview.feedback = Some(feedback);
    }
    // The same interview in the same state is the same event (a redelivery is dropped by
    // the partner); a real change of when, where or who is a new one.
    let fingerprint = format!(
        "{:?}{:?}{:?}{:?}{:?}{:?}",
        interview.starts_at,
        interview.duration_minutes,
        interview.location,
        interview.subject,
        interview
            .interviewers
            .iter()
            .map(|i| &i.id)
            .collect::<Vec<_>>(),
        interview.feedback.as_ref().map(|f| f
            .iter()
            .map(|f| (&f.id, f.completed_at))
            .collect::<Vec<_>>())
    );
    let kind = change.event_type();
    let webhook_id = partner::event_id(
        kind,
        &[
            c.as_str(),
            data.opportunity_id.as_str(),
            &interview.id,
            &fingerprint,
        ],
    );
    let event = PartnerEvent {
        id: webhook_id.clone(),
        kind,
        connection_id: c.to_string(),
        occurred_at: env.clock.now(),
        data: InterviewEvent {
            candidate: CandidateRef {
                partner_candidate_id: pcid.clone(),
                lever_opportunity_id: data.opportunity_id.to_string(),
                lever_contact_id: data.contact_id.clone().unwrap_or_default(),
            },
            interview,
        },
    };
    notify(env, &partner_settings, &event)?;
    Ok(Outcome::Forwarded(Forwarded {
        webhook_id,
        event_type: kind,
        opportunity_id: data.opportunity_id.to_string(),
        partner_candidate_id: pcid,
        lever_stage_id: None,
        partner_stage: None,
    }))
}
