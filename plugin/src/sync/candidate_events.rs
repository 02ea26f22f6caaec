//! Lever → partner for the candidate events beyond stage changes: archived (or hired when
//! the archive reason is of type hired), unarchived, hired, deleted. Each is confirmed with
//! Lever before it is sent (Lever signs no `data`), and each state is reported once.

use crate::auth;
use crate::config;
use crate::error::ConnectorError;
use crate::io::{Env, Method, UnixMillis};
use crate::lever::webhook::OpportunityData;
use crate::lever::{self, ArchiveReason, Opportunity, OpportunityId};
use crate::partner::{self, CandidateRef, PartnerEvent};
use crate::store::{ConnectionId, Store};
use crate::sync::stage::{fetch_opportunity, notify, Forwarded, Outcome, SkipReason};

/// The archive state of an opportunity as it is remembered: `active` or `archived:<reason>`.
fn archive_state(opportunity: &Opportunity) -> String {
    match opportunity
        .archived
        .as_ref()
        .and_then(|a| a.reason.as_deref())
    {
        Some(reason) => format!("archived:{reason}"),
        None => "active".into(),
    }
}

fn forwarded(
    webhook_id: String,
    kind: &'static str,
    opportunity: &Opportunity,
    pcid: &str,
) -> Outcome {
    Outcome::Forwarded(Forwarded {
        webhook_id,
        event_type: kind,
        opportunity_id: opportunity.id.to_string(),
        partner_candidate_id: pcid.to_string(),
        lever_stage_id: None,
        partner_stage: None,
    })
}

/// `candidateArchiveChange` (and `candidateHired` with `hired_only`): confirms the archive
/// state with Lever and sends `candidate.hired`, `candidate.archived` or
/// `candidate.unarchived`, once per state.
pub fn archive_changed(
    env: &Env,
    c: &ConnectionId,
    id: &OpportunityId,
    hired_only: bool,
) -> Result<Outcome, ConnectorError> {
    let partner_settings = config::partner(env.config)?;
    let api = auth::lever_api(env, c)?;
    let opportunity = match fetch_opportunity(env, &api, id)? {
        Ok(opportunity) => opportunity,
        Err(skip) => return Ok(Outcome::Skipped(skip)),
    };
    report_archive(env, c, &partner_settings, &api, &opportunity, hired_only)
}

/// Reports an opportunity's confirmed archive state unless it is not linked or already
/// reported.
///
/// Deliveries can hold snapshots of Lever from different moments (an archive and the
/// unarchive after it, one of them delayed by a retry). The reported state keeps the time
/// of the snapshot that last confirmed it, and a snapshot older than that is never sent: a
/// delivery that finds the partner already knows the state (including "never archived")
/// moves that time forward, so an archive snapshot taken before it is not sent after it.
pub fn report_archive(
    env: &Env,
    c: &ConnectionId,
    partner_settings: &config::PartnerSettings,
    api: &lever::LeverApi,
    opportunity: &Opportunity,
    hired_only: bool,
) -> Result<Outcome, ConnectorError> {
    let store = Store::new(env.kv).connection(c);
    let Some(pcid) = store.linked_candidate(&opportunity.id)? else {
        return Ok(Outcome::Skipped(SkipReason::NotLinked {
            opportunity_id: opportunity.id.to_string(),
        }));
    };
    let state = archive_state(opportunity);
    // When Lever showed this state: the archive's time, else the snapshot's last change.
    let at = opportunity
        .archived
        .as_ref()
        .and_then(|a| a.archived_at)
        .unwrap_or(opportunity.updated_at);
    if newer_than(&store.reported_archive_at(&opportunity.id)?, at) {
        return Ok(Outcome::Skipped(SkipReason::AlreadyReported { state }));
    }
    if hired_only && state == "active" {
        return Ok(Outcome::Skipped(SkipReason::NotHired {
            opportunity_id: opportunity.id.to_string(),
        }));
    }
    // Claim this report: of concurrent deliveries (Lever sends candidateArchiveChange and
    // candidateHired for one hire), exactly one sends it. Another delivery may be reporting
    // something else about this opportunity (a stage, an older archive state): try again
    // once it is done (from the outbox), rather than assume it sends this state.
    let now = env.clock.now();
    let until = now.saturating_add(config::delivery_lease_ms(env.config)?);
    let nonce = hex::encode(env.random.bytes(8));
    if !store.claim_report(&opportunity.id, now, until, &nonce)? {
        return Err(ConnectorError::Conflict(format!(
            "another delivery is reporting opportunity {} right now",
            opportunity.id
        )));
    }
    let snapshot = ArchiveSnapshot {
        opportunity,
        state: &state,
        at,
    };
    let outcome =
        report_archive_claimed(env, c, partner_settings, api, &snapshot, &pcid, hired_only);
    store.release_report(&opportunity.id)?;
    outcome
}

/// What is recorded when a send's outcome is unknown (a timeout, a dropped connection: the
/// partner may have it): the next delivery sends its state whatever was reported before.
const UNCERTAIN: &str = "uncertain";

/// Whether the partner's knowledge is as new as a snapshot of `at` or newer (strictly newer
/// after an uncertain send of `at`, which a retry sends again).
fn newer_than(reported: &Option<(String, Option<UnixMillis>)>, at: UnixMillis) -> bool {
    match reported {
        Some((state, Some(reported_at))) if state == UNCERTAIN => *reported_at > at,
        Some((_, Some(reported_at))) => *reported_at >= at,
        _ => false,
    }
}

/// An opportunity as one delivery's read of Lever shows it: its archive state, and when
/// Lever showed that state.
struct ArchiveSnapshot<'a> {
    opportunity: &'a Opportunity,
    state: &'a str,
    at: UnixMillis,
}

/// [`report_archive`] under the report claim: looks again at what the partner knows (the
/// holder before may have reported), then sends the state or records that it is known.
fn report_archive_claimed(
    env: &Env,
    c: &ConnectionId,
    partner_settings: &config::PartnerSettings,
    api: &lever::LeverApi,
    snapshot: &ArchiveSnapshot,
    pcid: &str,
    hired_only: bool,
) -> Result<Outcome, ConnectorError> {
    let &ArchiveSnapshot {
        opportunity,
        state,
        at,
    } = snapshot;
    let store = Store::new(env.kv).connection(c);
    let already = || SkipReason::AlreadyReported {
        state: state.to_string(),
    };
    let reported = store.reported_archive_at(&opportunity.id)?;
    if newer_than(&reported, at) {
        return Ok(Outcome::Skipped(already()));
    }
    match &reported {
        // Known already (never archived counts as active): nothing to tell; remember this
        // snapshot's time.
        Some((known, _)) if known == state => {
            store.set_reported_archive_at(&opportunity.id, state, at)?;
            return Ok(Outcome::Skipped(already()));
        }
        None if state == "active" => {
            store.set_reported_archive_at(&opportunity.id, state, at)?;
            return Ok(Outcome::Skipped(already()));
        }
        _ => {}
    }
    let sent = send_archive(env, c, partner_settings, api, opportunity, pcid, hired_only);
    match sent.inspect_err(|_| {
        // The partner may have it or not: a retry (or the next delivery) sends again.
        _ = store.set_reported_archive_at(&opportunity.id, UNCERTAIN, at);
    })? {
        Some((kind, webhook_id)) => {
            store.set_reported_archive_at(&opportunity.id, state, at)?;
            Ok(forwarded(webhook_id, kind, opportunity, pcid))
        }
        None => Ok(Outcome::Skipped(SkipReason::NotHired {
            opportunity_id: opportunity.id.to_string(),
        })),
    }
}

/// Sends the event for an opportunity's archive state; `None` when `hired_only` and the
/// reason is not of type hired.
fn send_archive(
    env: &Env,
    c: &ConnectionId,
    partner_settings: &config::PartnerSettings,
    api: &lever::LeverApi,
    opportunity: &Opportunity,
    pcid: &str,
    hired_only: bool,
) -> Result<Option<(&'static str, String)>, ConnectorError> {
    let candidate = CandidateRef {
        partner_candidate_id: pcid.to_string(),
        lever_opportunity_id: opportunity.id.to_string(),
        lever_contact_id: opportunity.contact.to_string(),
    };
    let archived = opportunity.archived.as_ref();
    let occurred_at = archived
        .and_then(|a| a.archived_at)
        .unwrap_or(opportunity.updated_at);
    let (kind, webhook_id) = match archived.and_then(|a| a.reason.clone()) {
        None => {
            let id = partner::event_id(
                partner::UNARCHIVED,
                &[
                    c.as_str(),
                    opportunity.id.as_str(),
                    &occurred_at.to_string(),
                ],
            );
            let event = PartnerEvent {
                id: id.clone(),
                kind: partner::UNARCHIVED,
                connection_id: c.to_string(),
                occurred_at,
                data: partner::Unarchived {
                    candidate,
                    lever_stage_id: opportunity.stage.to_string(),
                },
            };
            notify(env, partner_settings, &event)?;
            (partner::UNARCHIVED, id)
        }
        Some(reason_id) => {
            let reason: ArchiveReason = lever::interpret(lever::send(
                env,
                api.request(Method::Get, &["archive_reasons", &reason_id], &[], None),
            )?)?;
            let kind = if reason.kind == "hired" {
                partner::HIRED
            } else if hired_only {
                return Ok(None);
            } else {
                partner::ARCHIVED
            };
            let id = partner::event_id(
                kind,
                &[
                    c.as_str(),
                    opportunity.id.as_str(),
                    &reason_id,
                    &occurred_at.to_string(),
                ],
            );
            let event = PartnerEvent {
                id: id.clone(),
                kind,
                connection_id: c.to_string(),
                occurred_at,
                data: partner::Archived {
                    candidate,
                    reason: reason.text,
                    archive_reason_id: reason_id,
                },
            };
            notify(env, partner_settings, &event)?;
            (kind, id)
        }
    };
    Ok(Some((kind, webhook_id)))
}

/// `candidateDeleted`: confirmed by Lever no longer having the opportunity, then
/// `candidate.deleted`, once.
pub fn deleted(
    env: &Env,
    c: &ConnectionId,
    data: &OpportunityData,
) -> Result<Outcome, ConnectorError> {
    let partner_settings = config::partner(env.config)?;
    let api = auth::lever_api(env, c)?;
    let store = Store::new(env.kv).connection(c);
    let id = &data.opportunity_id;
    let Some(pcid) = store.linked_candidate(id)? else {
        return Ok(Outcome::Skipped(SkipReason::NotLinked {
            opportunity_id: id.to_string(),
        }));
    };
    if fetch_opportunity(env, &api, id)?.is_ok() {
        return Ok(Outcome::Skipped(SkipReason::StillInLever {
            opportunity_id: id.to_string(),
        }));
    }
    if store.reported_archive(id)?.as_deref() == Some("deleted") {
        return Ok(Outcome::Skipped(SkipReason::AlreadyReported {
            state: "deleted".into(),
        }));
    }
    let webhook_id = partner::event_id(partner::DELETED, &[c.as_str(), id.as_str()]);
    let event = PartnerEvent {
        id: webhook_id.clone(),
        kind: partner::DELETED,
        connection_id: c.to_string(),
        occurred_at: env.clock.now(),
        data: partner::Deleted {
            candidate: CandidateRef {
                partner_candidate_id: pcid.clone(),
                lever_opportunity_id: id.to_string(),
                lever_contact_id: data
                    .contact_id
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            },
            deleted_by: data.deleted_by.clone(),
        },
    };
    notify(env, &partner_settings, &event)?;
    store.set_reported_archive(id, "deleted")?;
    Ok(Outcome::Forwarded(Forwarded {
        webhook_id,
        event_type: partner::DELETED,
        opportunity_id: id.to_string(),
        partner_candidate_id: pcid,
        lever_stage_id: None,
        partner_stage: None,
    }))
}
