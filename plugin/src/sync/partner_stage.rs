//! Partner → Lever: a partner moves its candidate to a stage (→ the mapped Lever stage) or
//! rejects it (→ archived with the mapped archive reason). The state the partner set is
//! recorded as reported before Lever is written, so the webhook Lever sends back for the
//! connector's own write is not echoed to the partner.

use serde::Serialize;
use serde_json::json;

use crate::auth;
use crate::error::ConnectorError;
use crate::io::{Env, Method};
use crate::lever::{self, ArchiveReason, LeverApi, Opportunity, Stage};
use crate::setup::require_id;
use crate::store::{ConnStore, ConnectionId, Store};
use crate::sync::mapping::{self, normalize};
use crate::sync::stage::fetch_opportunity;

/// What the partner asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartnerMove {
    /// Move to the Lever stage mapped from this partner stage.
    Stage(String),
    /// Reject: archive with the archive reason matching `reason` by name, else the
    /// connection's rejection reason.
    Rejected {
        /// The partner's reason, when it gave one.
        reason: Option<String>,
    },
}

/// What was done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Moved {
    /// The connection.
    pub connection_id: ConnectionId,
    /// The partner candidate.
    pub partner_candidate_id: String,
    /// The Lever opportunity.
    pub opportunity_id: String,
    /// The Lever stage it is in now.
    pub lever_stage_id: String,
    /// The archive reason, when rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archive_reason_id: Option<String>,
    /// False when Lever already showed this state (nothing was written).
    pub changed: bool,
}

fn opportunity_of(
    env: &Env,
    api: &LeverApi,
    store: &ConnStore,
    pcid: &str,
) -> Result<Opportunity, ConnectorError> {
    let id = store.linked_opportunity(pcid)?.ok_or_else(|| {
        ConnectorError::NotFound(format!(
            "partner candidate {pcid} is not linked to a Lever opportunity"
        ))
    })?;
    fetch_opportunity(env, api, &id)?.map_err(|skip| ConnectorError::NotFound(skip.to_string()))
}

/// The archive reason for a rejection: a non-hired, active Lever reason whose text matches
/// `reason` (case- and punctuation-insensitive), else the connection's rejection reason.
pub fn rejection_reason(
    reasons: &[ArchiveReason],
    reason: Option<&str>,
    configured: Option<&str>,
) -> Result<String, ConnectorError> {
    let usable = |r: &&ArchiveReason| r.kind != "hired" && r.status != "inactive";
    if let Some(text) = reason {
        let wanted = normalize(text);
        if let Some(found) = reasons
            .iter()
            .filter(usable)
            .find(|r| normalize(&r.text) == wanted)
        {
            return Ok(found.id.clone());
        }
    }
    match configured {
        Some(id) if reasons.iter().filter(usable).any(|r| r.id == id) => Ok(id.to_string()),
        Some(id) => Err(ConnectorError::NotConfigured(format!(
            "rejection reason ({id} is no longer an active non-hired archive reason in Lever)"
        ))),
        None => Err(ConnectorError::NotConfigured(format!(
            "rejection reason ({} matches no Lever archive reason; set one with PUT /connections/{{c}}/rejection-reason)",
            reason.map_or("no reason given".to_string(), |r| format!("{r:?}"))
        ))),
    }
}

/// Applies the partner's move in Lever. Errors: `not-found` for an unlinked candidate or an
/// opportunity Lever no longer has; `invalid-input` for a stage that maps to nothing;
/// `not-configured` for a rejection without a usable archive reason.
pub fn set_candidate_stage(
    env: &Env,
    c: &ConnectionId,
    pcid: &str,
    partner_move: &PartnerMove,
) -> Result<Moved, ConnectorError> {
    let result = apply_move(env, c, pcid, partner_move);
    crate::activity::partner_call(env, c, "candidate stage", result, |m| {
        let state = match &m.archive_reason_id {
            Some(reason) => format!("archived ({reason})"),
            None => format!("in Lever stage {}", m.lever_stage_id),
        };
        format!(
            "candidate {} {state}{}",
            m.partner_candidate_id,
            if m.changed {
                ""
            } else {
                " already; nothing written"
            }
        )
    })
}

fn apply_move(
    env: &Env,
    c: &ConnectionId,
    pcid: &str,
    partner_move: &PartnerMove,
) -> Result<Moved, ConnectorError> {
    require_id("partner candidate id", pcid)?;
    let store = Store::new(env.kv).connection(c);
    let api = auth::lever_api(env, c)?;
    let perform_as = store.perform_as()?;
    let query: Vec<(&str, &str)> = perform_as
        .as_deref()
        .map(|u| ("perform_as", u))
        .into_iter()
        .collect();
    let opportunity = opportunity_of(env, &api, &store, pcid)?;
    let moved = |stage: &str, reason: Option<String>, changed| Moved {
        connection_id: c.clone(),
        partner_candidate_id: pcid.to_string(),
        opportunity_id: opportunity.id.to_string(),
        lever_stage_id: stage.to_string(),
        archive_reason_id: reason,
        changed,
    };
    match partner_move {
        PartnerMove::Stage(partner_stage) => {
            let stages: Vec<Stage> = crate::setup::stages(env, c, &api)?;
            let map = store.stage_map()?.unwrap_or_default();
            let target = mapping::lever_stage_for(partner_stage, &map, &stages)?;
            // The partner knows this state now: a webhook for it is not sent back.
            let previous = store.reported_stage_at(&opportunity.id)?;
            store.set_reported_stage(&opportunity.id, &target)?;
            if opportunity.stage == target {
                return Ok(moved(target.as_str(), None, false));
            }
            let body = serde_json::to_vec(&json!({ "stage": target }))
                .map_err(|e| ConnectorError::Internal(e.to_string()))?;
            let request = api.request(
                Method::Put,
                &["opportunities", opportunity.id.as_str(), "stage"],
                &query,
                Some(body),
            );
            if let Err(error) =
                lever::send(env, request).and_then(lever::interpret::<serde_json::Value>)
            {
                // Put back what was known, with its time (so an older snapshot still is not
                // sent over it).
                match previous {
                    Some((previous, Some(at))) => {
                        store.set_reported_stage_at(&opportunity.id, &previous, at)?
                    }
                    Some((previous, None)) => {
                        store.set_reported_stage(&opportunity.id, &previous)?
                    }
                    None => store.set_reported_stage(&opportunity.id, &opportunity.stage)?,
                }
                return Err(error);
            }
            Ok(moved(target.as_str(), None, true))
        }
        PartnerMove::Rejected { reason } => {
            let reasons: Vec<ArchiveReason> =
                lever::list_all(env, &api, &["archive_reasons"], &[])?;
            let configured = store.rejection_reason()?;
            let reason_id = rejection_reason(&reasons, reason.as_deref(), configured.as_deref())?;
            let state = format!("archived:{reason_id}");
            let previous = store.reported_archive_at(&opportunity.id)?;
            store.set_reported_archive(&opportunity.id, &state)?;
            let current = opportunity
                .archived
                .as_ref()
                .and_then(|a| a.reason.as_deref());
            if current == Some(reason_id.as_str()) {
                return Ok(moved(opportunity.stage.as_str(), Some(reason_id), false));
            }
            let body = serde_json::to_vec(&json!({ "reason": reason_id }))
                .map_err(|e| ConnectorError::Internal(e.to_string()))?;
            let request = api.request(
                Method::Put,
                &["opportunities", opportunity.id.as_str(), "archived"],
                &query,
                Some(body),
            );
            if let Err(error) =
                lever::send(env, request).and_then(lever::interpret::<serde_json::Value>)
            {
                match previous {
                    Some((previous, Some(at))) => {
                        store.set_reported_archive_at(&opportunity.id, &previous, at)?
                    }
                    Some((previous, None)) => {
                        store.set_reported_archive(&opportunity.id, &previous)?
                    }
                    None => store.set_reported_archive(&opportunity.id, "active")?,
                }
                return Err(error);
            }
            Ok(moved(opportunity.stage.as_str(), Some(reason_id), true))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(id: &str, text: &str, kind: &str, status: &str) -> ArchiveReason {
        ArchiveReason {
            id: id.into(),
            text: text.into(),
            kind: kind.into(),
            status: status.into(),
        }
    }

    #[test]
    fn rejections_match_reasons_by_name_else_the_configured_one() {
        let reasons = [
            reason("r-hired", "Hired", "hired", "active"),
            reason("r-under", "Underqualified", "non-hired", "active"),
            reason("r-old", "Timing", "non-hired", "inactive"),
        ];
        assert_eq!(
            rejection_reason(&reasons, Some("under-qualified"), None).unwrap(),
            "r-under"
        );
        assert_eq!(
            rejection_reason(&reasons, Some("Timing"), Some("r-under")).unwrap(),
            "r-under"
        );
        assert!(matches!(
            rejection_reason(&reasons, Some("Hired"), None),
            Err(ConnectorError::NotConfigured(m)) if m.starts_with("rejection reason")
        ));
        assert!(rejection_reason(&reasons, None, Some("r-old")).is_err());
    }
}
