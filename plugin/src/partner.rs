//! The partner contract, connector → partner: JSON events POSTed to the partner's callback
//! URL, signed per the Standard Webhooks spec (see `docs/partner-api.md`).

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::PartnerSettings;
use crate::error::{ConnectorError, Service};
use crate::io::{Method, Request, Response, UnixMillis};
use crate::lever::{retry_after_ms, USER_AGENT};
use crate::secret::Secret;

/// A Standard Webhooks signing secret: `whsec_` followed by base64 of the key bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSecret {
    key: Secret,
}

impl WebhookSecret {
    /// Parses `whsec_<base64>`; `None` when it is not that shape or the key is empty.
    pub fn parse(raw: &str) -> Option<Self> {
        let encoded = raw.trim().strip_prefix("whsec_")?;
        let key = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()
            .filter(|key| !key.is_empty())?;
        // Keep the decoded key only as hex inside a Secret so it never prints.
        Some(Self {
            key: Secret::new(hex::encode(key)),
        })
    }

    fn key_bytes(&self) -> Vec<u8> {
        hex::decode(self.key.expose()).unwrap_or_default()
    }

    /// `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`.
    pub fn sign(&self, webhook_id: &str, timestamp_secs: u64, body: &[u8]) -> String {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.key_bytes()) else {
            return String::new();
        };
        mac.update(webhook_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp_secs.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        let digest = mac.finalize().into_bytes();
        format!(
            "v1,{}",
            base64::engine::general_purpose::STANDARD.encode(digest)
        )
    }
}

/// `data` of a `candidate.stage_changed` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StageChanged {
    /// The partner's candidate.
    pub partner_candidate_id: String,
    /// The partner stage the candidate is now in.
    pub stage: String,
    /// The Lever opportunity.
    pub lever_opportunity_id: String,
    /// The Lever contact.
    pub lever_contact_id: String,
    /// The Lever stage, as confirmed with Lever.
    pub lever_stage_id: String,
    /// The Lever stage before it, when Lever's history shows one.
    pub previous_lever_stage_id: Option<String>,
}

/// Who an event is about: the partner's candidate and Lever's opportunity and contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CandidateRef {
    /// The partner's candidate.
    pub partner_candidate_id: String,
    /// The Lever opportunity.
    pub lever_opportunity_id: String,
    /// The Lever contact.
    pub lever_contact_id: String,
}

/// `data` of `candidate.archived` and `candidate.hired`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Archived {
    /// The candidate.
    #[serde(flatten)]
    pub candidate: CandidateRef,
    /// The archive reason's text in Lever (`Hired`, `Underqualified`, ...).
    pub reason: String,
    /// The archive reason's id.
    pub archive_reason_id: String,
}

/// `data` of `candidate.unarchived`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Unarchived {
    /// The candidate.
    #[serde(flatten)]
    pub candidate: CandidateRef,
    /// Its Lever stage now.
    pub lever_stage_id: String,
}

/// `data` of `candidate.deleted`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Deleted {
    /// The candidate.
    #[serde(flatten)]
    pub candidate: CandidateRef,
    /// The Lever user who deleted it, when Lever said.
    pub deleted_by: Option<String>,
}

/// The event type of [`Archived`] for a non-hired reason.
pub const ARCHIVED: &str = "candidate.archived";
/// The event type of [`Archived`] for a hired reason.
pub const HIRED: &str = "candidate.hired";
/// The event type of [`Unarchived`].
pub const UNARCHIVED: &str = "candidate.unarchived";
/// The event type of [`Deleted`].
pub const DELETED: &str = "candidate.deleted";
/// A linked candidate's interview was scheduled (`crate::sync::interviews`).
pub const INTERVIEW_SCHEDULED: &str = "candidate.interview_scheduled";
/// A linked candidate's interview changed.
pub const INTERVIEW_UPDATED: &str = "candidate.interview_updated";
/// A linked candidate's interview was cancelled.
pub const INTERVIEW_CANCELLED: &str = "candidate.interview_cancelled";

/// An event for the partner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PartnerEvent<T> {
    /// The event id, also sent as `webhook-id`.
    pub id: String,
    /// The event type, e.g. `candidate.stage_changed`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The connection (the partner's customer) the event belongs to.
    pub connection_id: String,
    /// When the change happened in Lever.
    pub occurred_at: UnixMillis,
    /// The event's data.
    pub data: T,
}

/// The event type of [`StageChanged`].
pub const STAGE_CHANGED: &str = "candidate.stage_changed";

/// A stable event id: the same Lever change always gets the same id, so the partner can
/// drop a redelivery.
pub fn event_id(kind: &str, parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(kind.as_bytes());
    for part in parts {
        hasher.update([0u8]);
        hasher.update(part.as_bytes());
    }
    let digest = hex::encode(hasher.finalize());
    format!("evt_{}", digest.get(..32).unwrap_or(&digest))
}

/// The signed POST of `event` to the partner's callback URL, stamped `now_ms`.
pub fn delivery_request<T: Serialize>(
    settings: &PartnerSettings,
    event: &PartnerEvent<T>,
    now_ms: UnixMillis,
) -> Result<Request, ConnectorError> {
    let body = serde_json::to_vec(event)
        .map_err(|e| ConnectorError::Internal(format!("encoding the partner event: {e}")))?;
    let timestamp = now_ms / 1000;
    let signature = settings.secret.sign(&event.id, timestamp, &body);
    Ok(Request {
        method: Method::Post,
        url: settings.callback_url.clone(),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("user-agent".into(), USER_AGENT.into()),
            ("webhook-id".into(), event.id.clone()),
            ("webhook-timestamp".into(), timestamp.to_string()),
            ("webhook-signature".into(), signature),
        ],
        body: Some(body),
        bucket: None,
        background: false,
    })
}

/// Interprets the partner's answer to a delivery: any 2xx is success.
pub fn interpret_delivery(response: &Response) -> Result<(), ConnectorError> {
    match response.status {
        200..=299 => Ok(()),
        429 => Err(ConnectorError::RateLimited {
            retry_after_ms: retry_after_ms(response),
        }),
        status => Err(ConnectorError::Upstream {
            service: Service::Partner,
            status,
            message: String::from_utf8_lossy(response.body.get(..200).unwrap_or(&response.body))
                .into_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_must_be_whsec_base64() {
        assert!(WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_some());
        assert!(WebhookSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_none());
        assert!(WebhookSecret::parse("whsec_not base64!").is_none());
        assert!(WebhookSecret::parse("whsec_").is_none());
    }

    #[test]
    fn standard_webhooks_known_answer_vector() {
        // The example from the Standard Webhooks specification.
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn event_ids_are_stable_and_distinct() {
        let a = event_id(STAGE_CHANGED, &["opp", "stage", "1"]);
        assert_eq!(a, event_id(STAGE_CHANGED, &["opp", "stage", "1"]));
        assert_ne!(a, event_id(STAGE_CHANGED, &["opp", "stage", "2"]));
        assert_ne!(a, event_id(STAGE_CHANGED, &["opps", "tage", "1"]));
        assert!(a.starts_with("evt_") && a.len() == 36);
    }

    #[test]
    fn partner_failures_are_typed() {
        let response = |status| Response {
            status,
            headers: vec![],
            body: b"nope".to_vec(),
        };
        interpret_delivery(&response(204)).unwrap();
        assert!(matches!(
            interpret_delivery(&response(500)),
            Err(ConnectorError::Upstream {
                service: Service::Partner,
                status: 500,
                ..
            })
        ));
        assert!(matches!(
            interpret_delivery(&response(429)),
            Err(ConnectorError::RateLimited { .. })
        ));
    }
}
