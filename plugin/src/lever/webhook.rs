//! Lever webhook deliveries: parse the envelope, verify the signature and freshness, then
//! (and only then) parse the event's `data`.
//!
//! Lever signs `token + triggeredAt` (decimal) with HMAC-SHA256 keyed by the webhook's
//! signature token, hex encoded. The body and `data` are not signed.

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

use super::{ContactId, OpportunityId, StageId};
use crate::error::ConnectorError;
use crate::io::UnixMillis;
use crate::secret::Secret;

/// Lever's ten webhook events.
pub const EVENTS: [&str; 10] = [
    "applicationCreated",
    "candidateHired",
    "candidateStageChange",
    "candidateArchiveChange",
    "candidateDeleted",
    "interviewCreated",
    "interviewUpdated",
    "interviewDeleted",
    "contactCreated",
    "contactUpdated",
];

/// The largest delivery body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The longest delivery token accepted (Lever's are 48 characters).
const MAX_TOKEN_LEN: usize = 256;

/// A delivery's envelope: everything but `data` is needed to verify it.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// The event name.
    pub event: String,
    /// The delivery token (new on every delivery; the replay key).
    pub token: String,
    /// When Lever triggered it.
    pub triggered_at: UnixMillis,
    /// The signature, when present.
    pub signature: Option<String>,
    /// The unsigned event data.
    pub data: serde_json::Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDelivery {
    triggered_at: Option<serde_json::Value>,
    event: Option<serde_json::Value>,
    signature: Option<serde_json::Value>,
    token: Option<serde_json::Value>,
    #[serde(default)]
    data: serde_json::Value,
}

fn string_field(value: Option<serde_json::Value>, name: &str) -> Result<String, ConnectorError> {
    match value {
        Some(serde_json::Value::String(s)) if !s.is_empty() => Ok(s),
        Some(serde_json::Value::String(_)) | None | Some(serde_json::Value::Null) => Err(
            ConnectorError::InvalidInput(format!("the delivery has no `{name}`")),
        ),
        Some(_) => Err(ConnectorError::InvalidInput(format!(
            "`{name}` must be a string"
        ))),
    }
}

/// Parses a delivery's envelope. Size, JSON syntax and the presence and types of `event`,
/// `token` and `triggeredAt` are checked here (`too-large`, `invalid-input`); a missing
/// signature is left for [`verify_signature`] to reject.
pub fn parse_delivery(body: &[u8]) -> Result<Delivery, ConnectorError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ConnectorError::TooLarge(MAX_BODY_BYTES as u64));
    }
    let raw: RawDelivery = serde_json::from_slice(body).map_err(|e| {
        ConnectorError::InvalidInput(format!("the body is not a JSON webhook delivery: {e}"))
    })?;
    let event = string_field(raw.event, "event")?;
    let token = string_field(raw.token, "token")?;
    if token.len() > MAX_TOKEN_LEN {
        return Err(ConnectorError::InvalidInput("`token` is too long".into()));
    }
    let triggered_at = match raw.triggered_at {
        Some(serde_json::Value::Number(n)) => n.as_u64().ok_or_else(|| {
            ConnectorError::InvalidInput("`triggeredAt` must be integer milliseconds".into())
        })?,
        None | Some(serde_json::Value::Null) => {
            return Err(ConnectorError::InvalidInput(
                "the delivery has no `triggeredAt`".into(),
            ))
        }
        Some(_) => {
            return Err(ConnectorError::InvalidInput(
                "`triggeredAt` must be integer milliseconds".into(),
            ))
        }
    };
    let signature = match raw.signature {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(_) => {
            return Err(ConnectorError::Unauthorized(
                "the signature is not a string".into(),
            ))
        }
    };
    Ok(Delivery {
        event,
        token,
        triggered_at,
        signature,
        data: raw.data,
    })
}

/// Checks the delivery's signature against each candidate token, in constant time per
/// comparison. The signature must be 64 lower-case hex digits, as Lever sends it.
pub fn verify_signature(delivery: &Delivery, tokens: &[Secret]) -> Result<(), ConnectorError> {
    let signature = delivery
        .signature
        .as_deref()
        .ok_or_else(|| ConnectorError::Unauthorized("the delivery is not signed".into()))?;
    let well_formed = signature.len() == 64
        && signature
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let decoded = hex::decode(signature)
        .ok()
        .filter(|_| well_formed)
        .ok_or_else(|| {
            ConnectorError::Unauthorized("the signature is not 64 lower-case hex digits".into())
        })?;
    let message = format!("{}{}", delivery.token, delivery.triggered_at);
    let verified = tokens.iter().any(|token| {
        Hmac::<Sha256>::new_from_slice(token.expose().as_bytes())
            .map(|mut mac| {
                mac.update(message.as_bytes());
                mac.verify_slice(&decoded).is_ok()
            })
            .unwrap_or(false)
    });
    if verified {
        Ok(())
    } else {
        Err(ConnectorError::Unauthorized(
            "the signature does not match".into(),
        ))
    }
}

/// Rejects a delivery whose `triggeredAt` is more than `max_age_ms` away from `now` (either
/// way: a timestamp from the future is as suspicious as an old one).
pub fn check_freshness(
    delivery: &Delivery,
    now: UnixMillis,
    max_age_ms: u64,
) -> Result<(), ConnectorError> {
    let skew = now.abs_diff(delivery.triggered_at);
    if skew > max_age_ms {
        return Err(ConnectorError::Unauthorized(format!(
            "triggeredAt is {}s away from now; the limit is {}s",
            skew / 1000,
            max_age_ms / 1000
        )));
    }
    Ok(())
}

/// `data` of a `candidateStageChange` delivery.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageChangeData {
    /// The opportunity that moved.
    pub opportunity_id: OpportunityId,
    /// Its contact.
    #[serde(default)]
    pub contact_id: Option<ContactId>,
    /// The stage it left (unsigned hint).
    #[serde(default)]
    pub from_stage_id: Option<StageId>,
    /// The stage it entered (unsigned hint: confirm with Lever).
    pub to_stage_id: StageId,
}

/// `data` of the candidate events that name an opportunity (`candidateArchiveChange`,
/// `candidateHired`, `candidateDeleted`): only the opportunity is used, and it is confirmed
/// with Lever.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpportunityData {
    /// The opportunity.
    pub opportunity_id: OpportunityId,
    /// Its contact.
    #[serde(default)]
    pub contact_id: Option<ContactId>,
    /// Who deleted it (`candidateDeleted`).
    #[serde(default)]
    pub deleted_by: Option<String>,
}

/// A verified delivery's event, with its typed data where the connector acts on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// An opportunity changed stage.
    CandidateStageChange(StageChangeData),
    /// An opportunity was archived, unarchived or its reason changed.
    CandidateArchiveChange(OpportunityData),
    /// An opportunity was hired; `None` for Lever's test ping (`data: {}`).
    CandidateHired(Option<OpportunityData>),
    /// An opportunity was deleted.
    CandidateDeleted(OpportunityData),
    /// An interview was scheduled, changed or cancelled.
    Interview(
        crate::sync::interviews::Change,
        crate::sync::interviews::InterviewData,
    ),
    /// One of Lever's other events, not acted on by this version.
    NotHandled(String),
    /// An event name Lever does not define.
    Unknown(String),
}

/// Parses the event's data. Call only after the delivery was verified.
pub fn parse_event(delivery: &Delivery) -> Result<Event, ConnectorError> {
    let data = |event: &str| {
        serde_json::from_value::<OpportunityData>(delivery.data.clone())
            .map_err(|e| ConnectorError::InvalidInput(format!("{event} data: {e}")))
    };
    match delivery.event.as_str() {
        "candidateStageChange" => serde_json::from_value(delivery.data.clone())
            .map(Event::CandidateStageChange)
            .map_err(|e| ConnectorError::InvalidInput(format!("candidateStageChange data: {e}"))),
        "candidateArchiveChange" => {
            data("candidateArchiveChange").map(Event::CandidateArchiveChange)
        }
        "candidateDeleted" => data("candidateDeleted").map(Event::CandidateDeleted),
        "interviewCreated" | "interviewUpdated" | "interviewDeleted" => {
            use crate::sync::interviews::Change;
            let change = match delivery.event.as_str() {
                "interviewCreated" => Change::Scheduled,
                "interviewUpdated" => Change::Updated,
                _ => Change::Cancelled,
            };
            serde_json::from_value(delivery.data.clone())
                .map(|data| Event::Interview(change, data))
                .map_err(|e| ConnectorError::InvalidInput(format!("{} data: {e}", delivery.event)))
        }
        "candidateHired" => {
            let empty = delivery.data.as_object().is_none_or(|o| o.is_empty());
            if empty {
                Ok(Event::CandidateHired(None))
            } else {
                data("candidateHired").map(|d| Event::CandidateHired(Some(d)))
            }
        }
        name if EVENTS.contains(&name) => Ok(Event::NotHandled(name.into())),
        name => Ok(Event::Unknown(name.into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "test-signature-token-7f3a";
    const FIXTURE_TIME: UnixMillis = 1_763_942_401_000;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/../tests/fixtures/lever/webhooks/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(path).unwrap()
    }

    fn tokens() -> Vec<Secret> {
        vec![Secret::new(TOKEN)]
    }

    #[test]
    fn known_answer_vector_from_the_fixture_verifies() {
        let delivery = parse_delivery(&fixture("candidateStageChange")).unwrap();
        assert_eq!(delivery.triggered_at, FIXTURE_TIME);
        verify_signature(&delivery, &tokens()).unwrap();
    }

    #[test]
    fn every_signed_fixture_verifies() {
        for name in [
            "applicationCreated",
            "candidateArchiveChange",
            "candidateDeleted",
            "candidateHired",
            "contactCreated",
            "contactUpdated",
            "interviewCreated",
            "bad/unknown-event",
            "bad/data-swapped",
        ] {
            let delivery = parse_delivery(&fixture(name)).unwrap();
            verify_signature(&delivery, &tokens()).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn wrong_signature_is_unauthorized() {
        let delivery = parse_delivery(&fixture("bad/bad-signature")).unwrap();
        assert!(matches!(
            verify_signature(&delivery, &tokens()),
            Err(ConnectorError::Unauthorized(_))
        ));
    }

    #[test]
    fn missing_signature_is_unauthorized_not_skipped() {
        let delivery = parse_delivery(&fixture("bad/missing-signature")).unwrap();
        assert_eq!(
            verify_signature(&delivery, &tokens()).unwrap_err(),
            ConnectorError::Unauthorized("the delivery is not signed".into())
        );
    }

    #[test]
    fn another_webhooks_token_does_not_verify() {
        let delivery = parse_delivery(&fixture("candidateStageChange")).unwrap();
        assert!(verify_signature(&delivery, &[Secret::new("other-token")]).is_err());
    }

    #[test]
    fn empty_truncated_and_uppercase_signatures_are_rejected() {
        let good = parse_delivery(&fixture("candidateStageChange")).unwrap();
        let signature = good.signature.clone().unwrap();
        for bad in [
            String::new(),
            signature[..63].to_string(),
            signature[..62].to_string(),
            signature.to_uppercase(),
            format!("{signature}00"),
        ] {
            let delivery = Delivery {
                signature: Some(bad.clone()),
                ..good.clone()
            };
            assert!(
                matches!(
                    verify_signature(&delivery, &tokens()),
                    Err(ConnectorError::Unauthorized(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_changed_token_or_timestamp_breaks_the_signature() {
        let good = parse_delivery(&fixture("candidateStageChange")).unwrap();
        let replayed_token = Delivery {
            token: "tok-0002".into(),
            ..good.clone()
        };
        assert!(verify_signature(&replayed_token, &tokens()).is_err());
        let moved_time = Delivery {
            triggered_at: good.triggered_at + 1,
            ..good
        };
        assert!(verify_signature(&moved_time, &tokens()).is_err());
    }

    #[test]
    fn freshness_window_is_inclusive_and_symmetric() {
        let delivery = parse_delivery(&fixture("candidateStageChange")).unwrap();
        let window = 300_000;
        check_freshness(&delivery, FIXTURE_TIME + window, window).unwrap();
        check_freshness(&delivery, FIXTURE_TIME - window, window).unwrap();
        assert!(check_freshness(&delivery, FIXTURE_TIME + window + 1, window).is_err());
        assert!(check_freshness(&delivery, FIXTURE_TIME - window - 1, window).is_err());
    }

    #[test]
    fn malformed_bodies_are_invalid_input() {
        for body in [
            &b"not json"[..],
            b"[]",
            b"{}",
            br#"{"event":"candidateStageChange","token":"t"}"#,
            br#"{"event":"candidateStageChange","token":"t","triggeredAt":"1"}"#,
            br#"{"event":"candidateStageChange","token":"t","triggeredAt":1.5}"#,
            br#"{"event":7,"token":"t","triggeredAt":1}"#,
            br#"{"event":"candidateStageChange","triggeredAt":1}"#,
        ] {
            assert!(
                matches!(parse_delivery(body), Err(ConnectorError::InvalidInput(_))),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn oversized_bodies_are_too_large() {
        let body = vec![b' '; MAX_BODY_BYTES + 1];
        assert_eq!(
            parse_delivery(&body).unwrap_err(),
            ConnectorError::TooLarge(MAX_BODY_BYTES as u64)
        );
    }

    #[test]
    fn events_are_classified_after_verification() {
        let stage = parse_delivery(&fixture("candidateStageChange")).unwrap();
        match parse_event(&stage).unwrap() {
            Event::CandidateStageChange(data) => {
                assert_eq!(
                    data.opportunity_id.as_str(),
                    "250d8f03-738a-4bba-a671-8a3d73477145"
                );
                assert_eq!(data.to_stage_id.as_str(), "9f1c2a22-onsite");
            }
            other => panic!("{other:?}"),
        }
        let mut hired = parse_delivery(&fixture("candidateHired")).unwrap();
        assert!(matches!(
            parse_event(&hired).unwrap(),
            Event::CandidateHired(Some(OpportunityData { .. }))
        ));
        // Lever's test ping.
        hired.data = serde_json::json!({});
        assert_eq!(parse_event(&hired).unwrap(), Event::CandidateHired(None));
        let interview = parse_delivery(&fixture("interviewCreated")).unwrap();
        match parse_event(&interview).unwrap() {
            Event::Interview(crate::sync::interviews::Change::Scheduled, data) => {
                assert_eq!(data.interview_id, "a3c1b0de-5b7e-4a44-9a0e-5c7f2b1e0f01");
                assert_eq!(
                    data.opportunity_id.as_str(),
                    "250d8f03-738a-4bba-a671-8a3d73477145"
                );
            }
            other => panic!("{other:?}"),
        }
        let contact = parse_delivery(&fixture("contactCreated")).unwrap();
        assert_eq!(
            parse_event(&contact).unwrap(),
            Event::NotHandled("contactCreated".into())
        );
        let unknown = parse_delivery(&fixture("bad/unknown-event")).unwrap();
        assert_eq!(
            parse_event(&unknown).unwrap(),
            Event::Unknown("candidateTeleported".into())
        );
    }

    #[test]
    fn stage_change_without_an_opportunity_is_invalid_input() {
        let mut delivery = parse_delivery(&fixture("candidateStageChange")).unwrap();
        delivery.data = serde_json::json!({ "toStageId": "x" });
        assert!(matches!(
            parse_event(&delivery),
            Err(ConnectorError::InvalidInput(_))
        ));
    }

    mod forgery {
        use super::*;
        use proptest::prelude::*;

        const FIXTURES: [&str; 8] = [
            "applicationCreated",
            "candidateArchiveChange",
            "candidateDeleted",
            "candidateHired",
            "candidateStageChange",
            "contactCreated",
            "contactUpdated",
            "interviewCreated",
        ];

        /// Whether a body is accepted as signed by [`TOKEN`].
        fn accepted(body: &[u8]) -> bool {
            parse_delivery(body)
                .and_then(|d| verify_signature(&d, &tokens()))
                .is_ok()
        }

        /// The fields the signature covers, as Lever sent them.
        fn signed_part(body: &[u8]) -> Option<(String, UnixMillis, String)> {
            let d = parse_delivery(body).ok()?;
            Some((d.token, d.triggered_at, d.signature?))
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            /// Any change to a byte of the signed fields or the signature is refused;
            /// a body that no longer parses is refused too.
            #[test]
            fn a_mutated_signed_field_is_never_accepted(
                fixture in 0..FIXTURES.len(),
                field in 0..3usize,
                position in any::<prop::sample::Index>(),
                replacement in any::<u8>(),
            ) {
                let original = fixture_of(FIXTURES[fixture]);
                let mut json: serde_json::Value = serde_json::from_slice(&original).unwrap();
                let key = ["token", "triggeredAt", "signature"][field];
                let mut text = match &json[key] {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let at = position.index(text.len().max(1));
                prop_assume!(replace_char(&mut text, at, replacement));
                json[key] = match key {
                    "triggeredAt" => text.parse::<u64>().map(serde_json::Value::from)
                        .unwrap_or(serde_json::Value::String(text.clone())),
                    _ => serde_json::Value::String(text.clone()),
                };
                let body = serde_json::to_vec(&json).unwrap();
                prop_assume!(signed_part(&body) != signed_part(&original));
                prop_assert!(!accepted(&body), "{key} mutated to {text:?} was accepted");
            }

            /// Random bytes written over a signed delivery: accepted only when the signed
            /// fields and signature survived intact.
            #[test]
            fn random_corruption_is_accepted_only_if_the_signed_fields_survive(
                fixture in 0..FIXTURES.len(),
                edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
            ) {
                let original = fixture_of(FIXTURES[fixture]);
                let mut body = original.clone();
                for (position, byte) in &edits {
                    let i = position.index(body.len());
                    body[i] = *byte;
                }
                if accepted(&body) {
                    prop_assert_eq!(signed_part(&body), signed_part(&original));
                }
            }
        }

        fn fixture_of(name: &str) -> Vec<u8> {
            fixture(name)
        }

        /// Replaces the character at `index` (a char boundary at or before it) with
        /// `replacement` as an ASCII character; false when nothing changed.
        fn replace_char(text: &mut String, index: usize, replacement: u8) -> bool {
            let Some((at, old)) = text.char_indices().take_while(|(i, _)| *i <= index).last()
            else {
                return false;
            };
            let new = char::from(replacement % 95 + 32);
            if new == old {
                return false;
            }
            text.replace_range(at..at + old.len_utf8(), &new.to_string());
            true
        }
    }
}
