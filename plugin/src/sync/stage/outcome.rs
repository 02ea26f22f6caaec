//! What was done with a delivery: the receipt Lever's webhook route answers.

use super::*;

/// The partner event sent for a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Forwarded {
    /// The `webhook-id` sent.
    pub webhook_id: String,
    /// The event type.
    pub event_type: &'static str,
    /// The Lever opportunity.
    pub opportunity_id: String,
    /// The partner candidate.
    pub partner_candidate_id: String,
    /// The confirmed Lever stage (stage changes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lever_stage_id: Option<String>,
    /// The partner stage (stage changes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner_stage: Option<String>,
}

/// Why a verified delivery needed no partner call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum SkipReason {
    /// Lever has no such opportunity (deleted since).
    #[serde(rename_all = "camelCase")]
    OpportunityNotInLever {
        /// The opportunity.
        opportunity_id: String,
    },
    /// The opportunity is not linked to a partner candidate.
    #[serde(rename_all = "camelCase")]
    NotLinked {
        /// The opportunity.
        opportunity_id: String,
    },
    /// Its Lever stage has no partner stage in the stage map.
    #[serde(rename_all = "camelCase")]
    StageNotMapped {
        /// The Lever stage.
        stage_id: String,
    },
    /// This state (a stage id, `archived:<reason>`, `active`, `deleted`) was reported for
    /// this opportunity already (or the partner caused it: no echo).
    #[serde(rename_all = "camelCase")]
    AlreadyReported {
        /// The state.
        state: String,
    },
    /// `candidateHired`, but Lever does not show the opportunity hired.
    #[serde(rename_all = "camelCase")]
    NotHired {
        /// The opportunity.
        opportunity_id: String,
    },
    /// `candidateDeleted`, but Lever still has the opportunity.
    #[serde(rename_all = "camelCase")]
    StillInLever {
        /// The opportunity.
        opportunity_id: String,
    },
    /// Lever's test ping (`candidateHired` with empty data).
    Ping,
    /// An interview event Lever does not confirm: the interview is not there (scheduled,
    /// updated) or still there and not canceled (cancelled).
    #[serde(rename_all = "camelCase")]
    InterviewNotConfirmed {
        /// The interview.
        interview_id: String,
    },
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::OpportunityNotInLever { opportunity_id } => {
                write!(f, "opportunity {opportunity_id} is not in Lever")
            }
            SkipReason::NotLinked { opportunity_id } => {
                write!(
                    f,
                    "opportunity {opportunity_id} is not linked to a partner candidate"
                )
            }
            SkipReason::StageNotMapped { stage_id } => {
                write!(f, "Lever stage {stage_id} is not mapped to a partner stage")
            }
            SkipReason::AlreadyReported { state } => write!(f, "{state} was already reported"),
            SkipReason::NotHired { opportunity_id } => {
                write!(f, "Lever does not show opportunity {opportunity_id} hired")
            }
            SkipReason::StillInLever { opportunity_id } => {
                write!(f, "opportunity {opportunity_id} is still in Lever")
            }
            SkipReason::Ping => f.write_str("Lever's test delivery"),
            SkipReason::InterviewNotConfirmed { interview_id } => {
                write!(
                    f,
                    "Lever does not show interview {interview_id} as the event says"
                )
            }
        }
    }
}

/// What was done with an accepted delivery. On the wire it is one key of the receipt:
/// `forwarded`, `duplicate`, `ignored`, `skipped` or `queued`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    /// The partner was notified.
    Forwarded(Forwarded),
    /// The token was handled before (or is being handled); carries where it stands.
    Duplicate(DeliveryState),
    /// A verified event not acted on; carries the event name.
    Ignored(String),
    /// Nothing to send; carries the reason.
    Skipped(SkipReason),
    /// Accepted; the first attempt failed and the outbox retries it.
    Queued(crate::outbox::Queued),
}

/// The answer to one delivery: `{"connectionId", "event", "token", <outcome>}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    /// The connection.
    pub connection_id: ConnectionId,
    /// The event name.
    pub event: String,
    /// The delivery token.
    pub token: String,
    /// What happened.
    #[serde(flatten)]
    pub outcome: Outcome,
}
