//! Lever → partner stage sync: the `candidateStageChange` webhook flow, per connection.
//!
//! verify the delivery with the connection's signature token → claim its token (atomically,
//! with a lease; a replay is a duplicate) → confirm the opportunity's stage with Lever → map
//! it → find the linked partner candidate → POST a signed `candidate.stage_changed` event to
//! the partner → record the delivery.
//!
//! A delivery is recorded (and so answered 2xx) only once its effect is done; a failure
//! on the way releases the claim, so Lever's retry redoes the work. A claim left
//! "processing" by a stopped instance lapses after its lease and is redone.

use serde::Serialize;

use crate::activity::{self, Source};
use crate::auth;
use crate::config;
use crate::error::{ConnectorError, Service};
use crate::io::{Env, HeldWrites};
use crate::lever::webhook::{self, Event, StageChangeData};
use crate::lever::{self, Opportunity, OpportunityId};
use crate::partner::{self, PartnerEvent, StageChanged};
use crate::setup::webhooks::signature_tokens;
use crate::store::{Claim, ConnectionId, DeliveryRecord, DeliveryState, OpportunityClaim, Store};
use crate::sync::{candidate_events, interviews};

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

/// Handles one Lever webhook delivery to `connection`, given as its raw body.
pub fn handle_lever_webhook(
    env: &Env,
    connection: &ConnectionId,
    body: &[u8],
) -> Result<Receipt, ConnectorError> {
    let delivery = webhook::parse_delivery(body)?;
    let tokens = signature_tokens(env, connection, &delivery.event)?;
    let secrets: Vec<_> = tokens.iter().map(|(_, token)| token.clone()).collect();
    let now = env.clock.now();
    let checked = webhook::verify_signature(&delivery, &secrets).and_then(|()| {
        webhook::check_freshness(&delivery, now, config::webhook_max_age_ms(env.config)?)
    });
    if let Err(error) = checked {
        // Refusals are shown only for connections with webhooks (anyone can post to any
        // connection id; those ids get no log).
        if !tokens.is_empty() {
            activity::record(
                env,
                connection,
                Source::Lever,
                &delivery.event,
                "refused",
                error.to_string(),
            );
        }
        return Err(error);
    }

    let store = Store::new(env.kv).connection(connection);
    // When the event was last delivered: written with the outcome (no write of its own).
    let mut along = Along::default();
    if tokens.iter().any(|(event, _)| *event == delivery.event) {
        along
            .writes
            .push(store.webhook_seen_write(&delivery.event, now));
    }
    let receipt = |outcome| Receipt {
        connection_id: connection.clone(),
        event: delivery.event.clone(),
        token: delivery.token.clone(),
        outcome,
    };
    // A stage change of a linked opportunity is claimed on its opportunity.
    let along = match stage_on_opportunity(env, connection, &delivery, body, along)? {
        Ok(outcome) => return Ok(receipt(outcome)),
        Err(along) => along,
    };
    let claim = DeliveryRecord {
        event: delivery.event.clone(),
        handled_at: now,
        state: DeliveryState::Processing,
        detail: String::new(),
        claim: hex::encode(env.random.bytes(12)),
    };
    if let Claim::Duplicate(existing) = store.claim_delivery(
        &delivery.token,
        &claim,
        config::delivery_lease_ms(env.config)?,
        now.saturating_add(config::delivery_retention_ms(env.config)?),
    )? {
        return Ok(receipt(Outcome::Duplicate(existing.state)));
    }

    // Its outcome writes (what was reported, its record, its log entries) are held and
    // made at the end in one write, whatever the outcome.
    let held = HeldWrites::new(env.kv);
    let outcome = handle_claimed(
        &env.with_kv(&held),
        connection,
        &delivery,
        body,
        &claim,
        along,
    );
    held.flush()
        .map_err(|e| ConnectorError::Internal(format!("key-value store: {e}")))?;
    outcome.map(receipt)
}

/// A `candidateStageChange` of a linked opportunity, claimed on the opportunity
/// ([`crate::store::Reporting`]): one compare-and-swap claims the delivery and the right to
/// report, and the outcome (the delivery remembered, the claim released, what was reported,
/// the log entries) is one write. Hands `along` back when the flow does not apply (another
/// event, an unlinked opportunity, another holder): the delivery then takes the token's
/// claim.
fn stage_on_opportunity(
    env: &Env,
    connection: &ConnectionId,
    delivery: &webhook::Delivery,
    body: &[u8],
    along: Along,
) -> Result<Result<Outcome, Along>, ConnectorError> {
    let Ok(Event::CandidateStageChange(data)) = webhook::parse_event(delivery) else {
        return Ok(Err(along));
    };
    let store = Store::new(env.kv).connection(connection);
    let Some(partner_candidate_id) = store.linked_candidate(&data.opportunity_id)? else {
        return Ok(Err(along));
    };
    let now = env.clock.now();
    let until = now.saturating_add(config::delivery_lease_ms(env.config)?);
    let nonce = hex::encode(env.random.bytes(8));
    let held =
        match store.claim_opportunity(&data.opportunity_id, &delivery.token, now, until, &nonce)? {
            OpportunityClaim::Claimed(held) => held,
            // Queued: the outbox took it on under its token, and its record says how it went.
            OpportunityClaim::Handled(DeliveryState::Queued) => {
                let state = store
                    .delivery_record(&delivery.token)?
                    .map_or(DeliveryState::Queued, |record| record.state);
                return Ok(Ok(Outcome::Duplicate(state)));
            }
            OpportunityClaim::Handled(state) => return Ok(Ok(Outcome::Duplicate(state))),
            OpportunityClaim::HeldByOther => return Ok(Err(along)),
        };
    let writes = HeldWrites::new(env.kv);
    let outcome = stage_claimed(
        &env.with_kv(&writes),
        connection,
        delivery,
        body,
        &data.opportunity_id,
        &partner_candidate_id,
        &held,
        along,
    );
    writes
        .flush()
        .map_err(|e| ConnectorError::Internal(format!("key-value store: {e}")))?;
    outcome.map(Ok)
}

/// The work of a stage change whose opportunity this request claimed, and its outcome.
#[allow(clippy::too_many_arguments)]
fn stage_claimed(
    env: &Env,
    connection: &ConnectionId,
    delivery: &webhook::Delivery,
    body: &[u8],
    opportunity_id: &OpportunityId,
    partner_candidate_id: &str,
    held: &crate::store::Reporting,
    mut along: Along,
) -> Result<Outcome, ConnectorError> {
    let store = Store::new(env.kv).connection(connection);
    let now = env.clock.now();
    let forget_before = now.saturating_sub(config::delivery_retention_ms(env.config)?);
    let recorder = crate::audit::Recorder::holding(
        env,
        connection,
        format!("Lever {} delivery {}", delivery.event, delivery.token),
    );
    let worked = (|| {
        let env = recorder.env();
        let partner_settings = config::partner(env.config)?;
        let lever = auth::lever_api(&env, connection)?;
        let (outcome, reported) = match fetch_opportunity(&env, &lever, opportunity_id)? {
            Ok(opportunity) => {
                let stage_map = store.stage_map()?.unwrap_or_default();
                report_claimed(
                    &env,
                    connection,
                    &partner_settings,
                    &opportunity,
                    partner_candidate_id,
                    &stage_map,
                )?
            }
            Err(skip) => (Outcome::Skipped(skip), None),
        };
        crate::triggers::on_delivery(&env, connection, &delivery.event, &delivery.data)?;
        Ok((outcome, reported))
    })();
    let handled = |state| crate::store::Handled {
        token: delivery.token.clone(),
        at: now,
        state,
    };
    match worked {
        Ok((outcome, reported)) => {
            let (state, _, shown, words) = describe(&outcome);
            let mut writes = along.writes;
            writes.push(store.release_opportunity_write(
                opportunity_id,
                held,
                Some(handled(state)),
                forget_before,
            )?);
            writes.extend(reported);
            let entry = activity::entry(env, Source::Lever, &delivery.event, shown, words);
            store.append_logs(Some(&entry), &recorder.take_held(), writes)?;
            Ok(outcome)
        }
        Err(error) if crate::outbox::keeps(&error) => {
            // Accepted: the outbox retries it under its token (its record swept as the
            // token flow's are).
            let claim = DeliveryRecord {
                event: delivery.event.clone(),
                handled_at: now,
                state: DeliveryState::Queued,
                detail: String::new(),
                claim: held.nonce.clone(),
            };
            store.expire_delivery_record(
                &delivery.token,
                now.saturating_add(config::delivery_retention_ms(env.config)?),
            )?;
            let queued = crate::outbox::enqueue(env, connection, delivery, body, &claim, &error)?;
            let state = if queued.dead_lettered {
                DeliveryState::DeadLettered
            } else {
                DeliveryState::Queued
            };
            along.writes.push(store.release_opportunity_write(
                opportunity_id,
                held,
                Some(handled(state)),
                forget_before,
            )?);
            store.set_many(along.writes)?;
            Ok(Outcome::Queued(queued))
        }
        Err(error) => {
            // Retrying cannot help (bad event data) or the store failed: the claim goes, so
            // a retry of this delivery is not mistaken for a replay.
            store.set_many(vec![store.release_opportunity_write(
                opportunity_id,
                held,
                None,
                forget_before,
            )?])?;
            activity::record(
                env,
                connection,
                Source::Lever,
                &delivery.event,
                "failed",
                error.to_string(),
            );
            Err(error)
        }
    }
}

/// The work of a delivery this request claimed, and its record.
fn handle_claimed(
    env: &Env,
    connection: &ConnectionId,
    delivery: &webhook::Delivery,
    body: &[u8],
    claim: &DeliveryRecord,
    mut along: Along,
) -> Result<Outcome, ConnectorError> {
    let store = Store::new(env.kv).connection(connection);
    // The writes it makes to Lever and the partner are recorded with its outcome.
    let recorder = crate::audit::Recorder::holding(
        env,
        connection,
        format!("Lever {} delivery {}", delivery.event, delivery.token),
    );
    let outcome = match perform(&recorder.env(), connection, delivery) {
        Ok(outcome) => outcome,
        Err(error) if crate::outbox::keeps(&error) => {
            // Accepted: the delivery waits in the connection's outbox, and `tick` retries
            // it, so Lever's own few retries are not what stands between it and loss.
            store.set_many(std::mem::take(&mut along.writes))?;
            Outcome::Queued(crate::outbox::enqueue(
                env, connection, delivery, body, claim, &error,
            )?)
        }
        Err(error) => {
            // Retrying cannot help (bad event data) or the store failed: free the token so
            // a retry of this delivery is not mistaken for a replay.
            store.release_delivery(&delivery.token)?;
            activity::record(
                env,
                connection,
                Source::Lever,
                &delivery.event,
                "failed",
                error.to_string(),
            );
            return Err(error);
        }
    };
    if !matches!(outcome, Outcome::Queued(_)) {
        along.audit = recorder.take_held();
        finish(
            env,
            connection,
            &delivery.event,
            &delivery.token,
            claim,
            &outcome,
            "",
            false,
            along,
        )?;
    }
    Ok(outcome)
}

/// What else a delivery's outcome is written with, in the same store write.
#[derive(Debug, Default)]
pub struct Along {
    /// The writes to Lever and the partner it made.
    pub audit: Vec<crate::audit::AuditEntry>,
    /// Keys and values.
    pub writes: Vec<(String, Vec<u8>)>,
}

/// Records a delivery's outcome over its claim, and in the connection's activity
/// (`suffix` is appended to the activity's words, e.g. which attempt it was), with what
/// goes `along` with it: one numbering of the log entries and one write of everything.
/// `later`: a later attempt (the outbox) records it, so its record is kept a retention
/// period from now.
#[allow(clippy::too_many_arguments)]
pub fn finish(
    env: &Env,
    connection: &ConnectionId,
    event: &str,
    token: &str,
    claim: &DeliveryRecord,
    outcome: &Outcome,
    suffix: &str,
    later: bool,
    along: Along,
) -> Result<(), ConnectorError> {
    let (state, detail, shown, words) = describe(outcome);
    let again_until = if later {
        Some(
            env.clock
                .now()
                .saturating_add(config::delivery_retention_ms(env.config)?),
        )
    } else {
        None
    };
    let store = Store::new(env.kv).connection(connection);
    let mut writes = along.writes;
    writes.push(store.delivery_record_write(
        token,
        &DeliveryRecord {
            event: event.to_string(),
            state,
            detail,
            ..claim.clone()
        },
        again_until,
    )?);
    let entry = activity::entry(env, Source::Lever, event, shown, format!("{words}{suffix}"));
    store.append_logs(Some(&entry), &along.audit, writes)
}

/// Where a delivery with `outcome` stands, its detail, and how the activity log shows it.
fn describe(outcome: &Outcome) -> (DeliveryState, String, &'static str, String) {
    let (state, detail) = match outcome {
        Outcome::Forwarded(f) => (DeliveryState::Forwarded, f.webhook_id.clone()),
        Outcome::Ignored(name) => (DeliveryState::Ignored, name.clone()),
        Outcome::Skipped(reason) => (DeliveryState::Skipped, reason.to_string()),
        Outcome::Duplicate(state) => (*state, String::new()),
        Outcome::Queued(q) if q.dead_lettered => {
            (DeliveryState::DeadLettered, q.last_error.clone())
        }
        Outcome::Queued(q) => (DeliveryState::Queued, q.last_error.clone()),
    };
    let (shown, words) = match outcome {
        Outcome::Forwarded(f) => (
            "forwarded",
            match &f.partner_stage {
                Some(stage) => format!(
                    "candidate {} (opportunity {}) is now \"{stage}\"",
                    f.partner_candidate_id, f.opportunity_id
                ),
                None => format!(
                    "{} for candidate {} (opportunity {})",
                    f.event_type, f.partner_candidate_id, f.opportunity_id
                ),
            },
        ),
        Outcome::Ignored(name) => (
            "ignored",
            format!("{name} is not an event the connector acts on"),
        ),
        Outcome::Skipped(reason) => ("skipped", reason.to_string()),
        Outcome::Duplicate(_) => ("skipped", "a replay".to_string()),
        Outcome::Queued(q) if q.dead_lettered => (
            "dead-lettered",
            format!(
                "gave up after {} attempts: {} (replay it once fixed)",
                q.attempts, q.last_error
            ),
        ),
        Outcome::Queued(q) => (
            "queued",
            format!("{} (attempt {}; retried later)", q.last_error, q.attempts),
        ),
    };
    (state, detail, shown, words)
}

/// Does what a verified, claimed delivery asks for, and feeds the triggers.
pub fn perform(
    env: &Env,
    connection: &ConnectionId,
    delivery: &webhook::Delivery,
) -> Result<Outcome, ConnectorError> {
    let outcome = act(env, connection, delivery)?;
    crate::triggers::on_delivery(env, connection, &delivery.event, &delivery.data)?;
    Ok(outcome)
}

/// The work a verified, claimed delivery asks for.
fn act(
    env: &Env,
    connection: &ConnectionId,
    delivery: &webhook::Delivery,
) -> Result<Outcome, ConnectorError> {
    match webhook::parse_event(delivery)? {
        Event::CandidateStageChange(data) => stage_changed(env, connection, &data),
        Event::CandidateArchiveChange(data) => {
            candidate_events::archive_changed(env, connection, &data.opportunity_id, false)
        }
        Event::CandidateHired(Some(data)) => {
            candidate_events::archive_changed(env, connection, &data.opportunity_id, true)
        }
        Event::CandidateHired(None) => Ok(Outcome::Skipped(SkipReason::Ping)),
        Event::CandidateDeleted(data) => candidate_events::deleted(env, connection, &data),
        Event::Interview(change, data) => interviews::changed(env, connection, change, &data),
        Event::NotHandled(name) | Event::Unknown(name) => Ok(Outcome::Ignored(name)),
    }
}

fn stage_changed(
    env: &Env,
    connection: &ConnectionId,
    data: &StageChangeData,
) -> Result<Outcome, ConnectorError> {
    // Everything the flow needs is read up front: a missing key fails before any call.
    let partner_settings = config::partner(env.config)?;
    let lever = auth::lever_api(env, connection)?;
    let opportunity = match fetch_opportunity(env, &lever, &data.opportunity_id)? {
        Ok(opportunity) => opportunity,
        Err(skip) => return Ok(Outcome::Skipped(skip)),
    };
    report_stage(env, connection, &partner_settings, &opportunity)
}

/// The opportunity as Lever has it now (webhook data is unsigned), or the skip when Lever
/// has none.
pub fn fetch_opportunity(
    env: &Env,
    lever: &lever::LeverApi,
    id: &OpportunityId,
) -> Result<Result<Opportunity, SkipReason>, ConnectorError> {
    match lever::interpret(lever::send(env, lever.get_opportunity(id))?) {
        Ok(opportunity) => Ok(Ok(opportunity)),
        Err(ConnectorError::NotFound(_)) => Ok(Err(SkipReason::OpportunityNotInLever {
            opportunity_id: id.to_string(),
        })),
        Err(e) => Err(e),
    }
}

/// Reports an opportunity's current (confirmed) stage to the partner unless it is not
/// linked, not mapped, or already reported (which includes a stage the partner set itself).
pub fn report_stage(
    env: &Env,
    connection: &ConnectionId,
    partner_settings: &config::PartnerSettings,
    opportunity: &Opportunity,
) -> Result<Outcome, ConnectorError> {
    let store = Store::new(env.kv).connection(connection);
    let stage_map = store.stage_map()?.unwrap_or_default();
    let Some(partner_candidate_id) = store.linked_candidate(&opportunity.id)? else {
        return Ok(Outcome::Skipped(SkipReason::NotLinked {
            opportunity_id: opportunity.id.to_string(),
        }));
    };
    if known_to_partner(opportunity, &store.reported_stage_at(&opportunity.id)?) {
        return Ok(already_reported(opportunity));
    }
    if !stage_map.contains_key(opportunity.stage.as_str()) {
        return Ok(Outcome::Skipped(SkipReason::StageNotMapped {
            stage_id: opportunity.stage.to_string(),
        }));
    }
    // Claim this report: of concurrent deliveries for one change, exactly one sends it.
    let now = env.clock.now();
    let until = now.saturating_add(config::delivery_lease_ms(env.config)?);
    let nonce = hex::encode(env.random.bytes(8));
    if !store.claim_report(&opportunity.id, now, until, &nonce)? {
        // Another delivery is reporting this opportunity right now, perhaps an older stage:
        // try again once it is done (from the outbox), rather than assume this stage is
        // the one it sends.
        return Err(ConnectorError::Conflict(format!(
            "another delivery is reporting opportunity {} right now",
            opportunity.id
        )));
    }
    match report_claimed(
        env,
        connection,
        partner_settings,
        opportunity,
        &partner_candidate_id,
        &stage_map,
    ) {
        // What was reported, and the claim given up, in one write.
        Ok((outcome, reported)) => {
            store.release_report_with(&opportunity.id, reported.into_iter().collect())?;
            Ok(outcome)
        }
        Err(error) => {
            store.release_report(&opportunity.id)?;
            Err(error)
        }
    }
}

/// Whether the partner knows of `opportunity`'s current stage already: this change was
/// reported, the partner made it, or a newer change was reported (this snapshot of Lever is
/// older than what the partner has).
fn known_to_partner(
    opportunity: &Opportunity,
    reported: &Option<(crate::lever::StageId, Option<crate::io::UnixMillis>)>,
) -> bool {
    let (entry, _) = opportunity.current_stage_entry();
    let occurred_at = entry.map_or(opportunity.updated_at, |e| e.updated_at);
    match reported {
        Some((_, Some(at))) if *at > occurred_at => true,
        Some((stage, at)) => *stage == opportunity.stage && at.is_none_or(|at| at >= occurred_at),
        None => false,
    }
}

fn already_reported(opportunity: &Opportunity) -> Outcome {
    Outcome::Skipped(SkipReason::AlreadyReported {
        state: opportunity.stage.to_string(),
    })
}

/// [`report_stage`] under the report claim: looks (again) at what the partner knows, and
/// sends the stage unless it is known or not mapped. Answers the outcome and the write that
/// remembers what was reported, for the caller to make as it releases the claim.
fn report_claimed(
    env: &Env,
    connection: &ConnectionId,
    partner_settings: &config::PartnerSettings,
    opportunity: &Opportunity,
    partner_candidate_id: &str,
    stage_map: &std::collections::BTreeMap<String, String>,
) -> Result<(Outcome, Option<crate::store::Write>), ConnectorError> {
    let store = Store::new(env.kv).connection(connection);
    if known_to_partner(opportunity, &store.reported_stage_at(&opportunity.id)?) {
        return Ok((already_reported(opportunity), None));
    }
    let Some(partner_stage) = stage_map.get(opportunity.stage.as_str()) else {
        return Ok((
            Outcome::Skipped(SkipReason::StageNotMapped {
                stage_id: opportunity.stage.to_string(),
            }),
            None,
        ));
    };
    let (entry, previous) = opportunity.current_stage_entry();
    let occurred_at = entry.map_or(opportunity.updated_at, |e| e.updated_at);
    let webhook_id = partner::event_id(
        partner::STAGE_CHANGED,
        &[
            connection.as_str(),
            opportunity.id.as_str(),
            opportunity.stage.as_str(),
            &occurred_at.to_string(),
        ],
    );
    let event = PartnerEvent {
        id: webhook_id.clone(),
        kind: partner::STAGE_CHANGED,
        connection_id: connection.to_string(),
        occurred_at,
        data: StageChanged {
            partner_candidate_id: partner_candidate_id.to_string(),
            stage: partner_stage.clone(),
            lever_opportunity_id: opportunity.id.to_string(),
            lever_contact_id: opportunity.contact.to_string(),
            lever_stage_id: opportunity.stage.to_string(),
            previous_lever_stage_id: previous.map(|s| s.to_string()),
        },
    };
    notify(env, partner_settings, &event)?;
    Ok((
        Outcome::Forwarded(Forwarded {
            webhook_id,
            event_type: partner::STAGE_CHANGED,
            opportunity_id: opportunity.id.to_string(),
            partner_candidate_id: partner_candidate_id.to_string(),
            lever_stage_id: Some(opportunity.stage.to_string()),
            partner_stage: Some(partner_stage.clone()),
        }),
        Some(store.reported_stage_at_write(&opportunity.id, &opportunity.stage, occurred_at)),
    ))
}

/// POSTs a signed event to the partner; any non-2xx is an error.
pub fn notify<T: Serialize>(
    env: &Env,
    partner_settings: &config::PartnerSettings,
    event: &PartnerEvent<T>,
) -> Result<(), ConnectorError> {
    let request = partner::delivery_request(partner_settings, event, env.clock.now())?;
    let response = env
        .http
        .send(request)
        .map_err(|e| lever::transport_error(Service::Partner, e))?;
    partner::interpret_delivery(&response)
}

/// Links a partner candidate to an opportunity on a connection. Linking the same pair again
/// succeeds; an opportunity or candidate already linked elsewhere is a conflict.
pub fn link_candidate(
    env: &Env,
    connection: &ConnectionId,
    partner_candidate_id: &str,
    opportunity: &OpportunityId,
) -> Result<(), ConnectorError> {
    crate::setup::require_id("partner candidate id", partner_candidate_id)?;
    crate::setup::require_id("opportunity id", opportunity.as_str())?;
    let store = Store::new(env.kv).connection(connection);
    if let Some(existing) = store.linked_candidate(opportunity)? {
        if existing != partner_candidate_id {
            return Err(ConnectorError::Conflict(format!(
                "opportunity {opportunity} is already linked to partner candidate {existing}"
            )));
        }
    }
    if let Some(existing) = store.linked_opportunity(partner_candidate_id)? {
        if &existing != opportunity {
            return Err(ConnectorError::Conflict(format!(
                "partner candidate {partner_candidate_id} is already linked to opportunity {existing}"
            )));
        }
    }
    store.link(partner_candidate_id, opportunity)
}

/// The partner candidate linked to an opportunity on a connection.
pub fn linked_candidate(
    env: &Env,
    connection: &ConnectionId,
    opportunity: &OpportunityId,
) -> Result<Option<String>, ConnectorError> {
    Store::new(env.kv)
        .connection(connection)
        .linked_candidate(opportunity)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Sealer;
    use crate::io::fake::{FakeConfig, World};
    use crate::io::Clock as _;
    use crate::io::{Method, TransportError};
    use crate::lever::StageId;
    use crate::partner::WebhookSecret;
    use crate::secret::Secret;
    use crate::store::{InstalledWebhook, StoredAuth};

    const NOW: u64 = 1_763_942_401_000 + 5_000;
    const OPP: &str = "250d8f03-738a-4bba-a671-8a3d73477145";
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    fn fixture(path: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/../tests/fixtures/lever/{path}.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    fn acme() -> ConnectionId {
        ConnectionId::parse("acme").unwrap()
    }

    fn world() -> World {
        let world = World::new(
            FakeConfig::from_pairs(&[
                ("lever_api_base", "http://lever.test/v1"),
                ("lever_auth_base", "http://auth.test"),
                ("encryption_key", KEY),
                ("partner_callback_url", "http://partner.test/hooks/lever"),
                ("partner_webhook_secret", SECRET),
            ]),
            NOW,
        );
        connect(&world, &acme(), "test-signature-token-7f3a");
        link_candidate(&world.env(), &acme(), "cand-42", &OpportunityId(OPP.into())).unwrap();
        world
    }

    fn connect(world: &World, connection: &ConnectionId, token: &str) {
        let sealer = Sealer::new(&[
            0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23,
            24, 25, 26, 27, 28, 29, 30, 31,
        ])
        .unwrap();
        let store = Store::new(&world.kv).connection(connection);
        store
            .set_auth(&StoredAuth::ApiKey {
                api_key: sealer
                    .seal(
                        &world.random,
                        connection.as_str(),
                        "api_key",
                        &Secret::new("planted-api-key"),
                    )
                    .unwrap(),
                connected_at: 0,
                environment: None,
            })
            .unwrap();
        store
            .set_webhook(&InstalledWebhook {
                id: "w1".into(),
                event: "candidateStageChange".into(),
                url: "u".into(),
                signature_token: sealer
                    .seal(
                        &world.random,
                        connection.as_str(),
                        "signature_token/candidateStageChange",
                        &Secret::new(token),
                    )
                    .unwrap(),
                created_at: 0,
            })
            .unwrap();
        let map = [("9f1c2a22-onsite", "onsite"), ("9f1c2a23-offer", "offer")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        store.set_stage_map(&map).unwrap();
    }

    fn handle(world: &World, body: &str) -> Result<Receipt, ConnectorError> {
        handle_lever_webhook(&world.env(), &acme(), body.as_bytes())
    }

    /// The fixture's opportunity with `archived` and `updatedAt` replaced.
    fn snapshot(archived: serde_json::Value, updated_at: u64) -> crate::lever::Opportunity {
        let mut value: serde_json::Value =
            serde_json::from_str(&fixture("api/opportunity")).unwrap();
        value["data"]["archived"] = archived;
        value["data"]["updatedAt"] = updated_at.into();
        serde_json::from_value(value["data"].clone()).unwrap()
    }

    /// Reports `opportunity`'s archive state on connection `acme`.
    fn report_archive(
        world: &World,
        opportunity: &crate::lever::Opportunity,
    ) -> Result<Outcome, ConnectorError> {
        let env = world.env();
        let partner = config::partner(env.config).unwrap();
        let api = auth::lever_api(&env, &acme()).unwrap();
        crate::sync::candidate_events::report_archive(
            &env,
            &acme(),
            &partner,
            &api,
            opportunity,
            false,
        )
    }

    #[test]
    fn stage_change_is_confirmed_with_lever_and_forwarded_signed() {
        let world = world();
        world.http.respond(200, &fixture("api/opportunity"));
        world.http.respond(204, "");

        let receipt = handle(&world, &fixture("webhooks/candidateStageChange")).unwrap();
        let Outcome::Forwarded(forwarded) = &receipt.outcome else {
            panic!("{receipt:?}")
        };
        assert_eq!(forwarded.partner_candidate_id, "cand-42");
        assert_eq!(forwarded.partner_stage.as_deref(), Some("onsite"));

        let sent = world.http.sent.borrow();
        assert_eq!(sent.len(), 2);
        assert_eq!(sent[0].method, Method::Get);
        assert_eq!(
            sent[0].url.to_string(),
            format!("http://lever.test/v1/opportunities/{OPP}")
        );
        let post = &sent[1];
        assert_eq!(post.url.to_string(), "http://partner.test/hooks/lever");
        let body = post.body.clone().unwrap();
        let event: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(event["type"], "candidate.stage_changed");
        assert_eq!(event["connectionId"], "acme");
        assert_eq!(event["data"]["partnerCandidateId"], "cand-42");
        assert_eq!(event["data"]["stage"], "onsite");
        assert_eq!(event["data"]["previousLeverStageId"], "9f1c2a21-phone");
        let expected =
            WebhookSecret::parse(SECRET)
                .unwrap()
                .sign(&forwarded.webhook_id, NOW / 1000, &body);
        assert_eq!(post.header("webhook-signature"), Some(expected.as_str()));
        drop(sent);
        let wire = serde_json::to_value(&receipt).unwrap();
        assert_eq!(wire["connectionId"], "acme");
        assert_eq!(wire["forwarded"]["partnerStage"], "onsite");
    }

    /// A `candidateStageChange` delivery of `token` for `opportunity`, signed as Lever
    /// signs it with the connection's signature token.
    fn signed_delivery(token: &str, opportunity: &str) -> String {
        use hmac::{Hmac, Mac};
        let triggered_at = NOW - 5_000;
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"test-signature-token-7f3a").unwrap();
        mac.update(format!("{token}{triggered_at}").as_bytes());
        serde_json::json!({
            "triggeredAt": triggered_at,
            "event": "candidateStageChange",
            "signature": hex::encode(mac.finalize().into_bytes()),
            "token": token,
            "data": {"opportunityId": opportunity, "toStageId": "9f1c2a22-onsite"},
        })
        .to_string()
    }

    #[test]
    fn a_forwarded_delivery_costs_few_store_operations_and_no_swap_of_a_shared_key() {
        let world = world();
        let second = "9a1b2c3d-0000-4000-8000-000000000002";
        link_candidate(
            &world.env(),
            &acme(),
            "cand-43",
            &OpportunityId(second.into()),
        )
        .unwrap();
        world.http.respond(200, &fixture("api/opportunity"));
        world.http.respond(204, "");
        handle(&world, &fixture("webhooks/candidateStageChange")).unwrap();
        // The next delivery in the same minute, as most are: the connection's expiry
        // bucket and rate base exist.
        let mut lever: serde_json::Value =
            serde_json::from_str(&fixture("api/opportunity")).unwrap();
        lever["data"]["id"] = second.into();
        world.http.respond(200, &lever.to_string());
        world.http.respond(204, "");
        world.kv.take_ops();
        let receipt = handle(&world, &signed_delivery("tok-0002", second)).unwrap();
        assert!(
            matches!(receipt.outcome, Outcome::Forwarded(_)),
            "{receipt:?}"
        );
        let ops = world.kv.take_ops();
        let shown: Vec<String> = ops
            .iter()
            .map(|op| format!("{} {}", op.op, op.key))
            .collect();
        let writes = ops.iter().filter(|op| op.writes()).count();
        assert!(
            ops.len() <= 12 && writes <= 4,
            "{} ops, {writes} writes:\n{}",
            ops.len(),
            shown.join("\n")
        );
        // Compare-and-swap only on keys of this delivery and this opportunity: none on a
        // key every delivery of the connection shares.
        for op in ops.iter().filter(|op| op.op == "swap") {
            assert!(
                op.key.contains("tok-0002") || op.key.contains(second),
                "a swap of a shared key: {}",
                op.key
            );
        }
    }

    #[test]
    fn a_delivery_signed_for_another_connection_is_unauthorized() {
        let world = world();
        let globex = ConnectionId::parse("globex").unwrap();
        connect(&world, &globex, "globex-signature-token");
        let error = handle_lever_webhook(
            &world.env(),
            &globex,
            fixture("webhooks/candidateStageChange").as_bytes(),
        )
        .unwrap_err();
        assert!(matches!(error, ConnectorError::Unauthorized(_)));
        assert!(world.http.sent.borrow().is_empty());
    }

    #[test]
    fn a_replayed_token_makes_no_second_partner_call() {
        let world = world();
        world.http.respond(200, &fixture("api/opportunity"));
        world.http.respond(200, "");
        handle(&world, &fixture("webhooks/candidateStageChange")).unwrap();
        let again = handle(&world, &fixture("webhooks/candidateStageChange")).unwrap();
        assert_eq!(again.outcome, Outcome::Duplicate(DeliveryState::Forwarded));
        assert_eq!(world.http.sent.borrow().len(), 2);
    }

    #[test]
    fn the_last_delivery_time_is_written_with_the_outcome() {
        let world = world();
        let store = Store::new(&world.kv).connection(&acme());
        world.http.respond(200, &fixture("api/opportunity"));
        world.http.respond(200, "");
        handle(&world, &fixture("webhooks/candidateStageChange")).unwrap();
        let seen = || store.webhook_seen("candidateStageChange").unwrap();
        assert_eq!(seen(), Some(NOW));
        // A replay is answered from its record and writes nothing.
        world.clock.0.set(NOW + 61_000);
        world.kv.take_ops();
        handle(&world, &fixture("webhooks/candidateStageChange")).unwrap();
        assert!(world.kv.take_ops().iter().all(|op| !op.writes()));
        assert_eq!(seen(), Some(NOW));
    }

    #[test]
    fn a_claim_left_processing_is_redone_after_its_lease() {
        let world = world();
        let store = Store::new(&world.kv).connection(&acme());
        // An instance claimed the delivery's opportunity and stopped.
        assert!(matches!(
            store
                .claim_opportunity(
                    &OpportunityId(OPP.into()),
                    "tok-0001",
                    NOW,
                    NOW + 60_000,
                    "n"
                )
                .unwrap(),
            crate::store::OpportunityClaim::Claimed(_)
        ));
        // Within the lease: someone is working on it.
        let receipt = handle(&world, &fixture("webhooks/candidateStageChange")).unwrap();
        assert_eq!(
            receipt.outcome,
            Outcome::Duplicate(DeliveryState::Processing)
        );
        assert!(world.http.sent.borrow().is_empty());
        // After it (the fixture's triggeredAt allows a wide freshness window here).
        let mut world = world;
        world
            .config
            .0
            .insert("lever_webhook_max_age_secs".into(), "3600".into());
        world.clock.sleep_ms(61_000);
        world.http.respond(200, &fixture("api/opportunity"));
        world.http.respond(200, "");
        let receipt = handle(&world, &fixture("webhooks/candidateStageChange")).unwrap();
        assert!(
            matches!(receipt.outcome, Outcome::Forwarded(_)),
            "{receipt:?}"
        );
    }

    #[test]
    fn a_partner_failure_is_kept_in_the_outbox_and_tick_delivers_it_once() {
        let world = world();
        world.http.respond(200, &fixture("api/opportunity"));
        world.http.respond(503, "down");
        let receipt = handle(&world, &fixture("webhooks/candidateStageChange")).unwrap();
        let Outcome::Queued(queued) = &receipt.outcome else {
            panic!("{receipt:?}")
        };
        assert_eq!(queued.attempts, 1);
        assert!(queued.last_error.contains("503"), "{queued:?}");
        // Lever's own retry of the delivery is a duplicate now: the outbox has it.
        let again = handle(&world, &fixture("webhooks/candidateStageChange")).unwrap();
        assert_eq!(again.outcome, Outcome::Duplicate(DeliveryState::Queued));
        // Not due yet: nothing is sent.
        let sent_before = world.http.sent.borrow().len();
        let report = crate::outbox::tick(&world.env()).unwrap();
        assert_eq!((report.attempted, report.waiting), (0, 1));
        assert_eq!(world.http.sent.borrow().len(), sent_before);
        // Due: delivered once, with the same webhook-id as the failed attempt.
        world.clock.sleep_ms(crate::outbox::BASE_BACKOFF_MS + 1);
        world.http.respond(200, &fixture("api/opportunity"));
        world.http.respond(204, "");
        let report = crate::outbox::tick(&world.env()).unwrap();
        assert_eq!((report.attempted, report.delivered), (1, 1), "{report:?}");
        let ids: Vec<String> = world
            .http
            .sent
            .borrow()
            .iter()
            .filter(|r| r.url.to_string().starts_with("http://partner.test"))
            .filter_map(|r| r.header("webhook-id").map(String::from))
            .collect();
        assert_eq!(ids.len(), 2);
        assert_eq!(ids[0], ids[1]);
        let report = crate::outbox::tick(&world.env()).unwrap();
        assert_eq!(report, crate::outbox::TickReport::default());
        let again = handle(&world, &fixture("webhooks/candidateStageChange")).unwrap();
        assert_eq!(again.outcome, Outcome::Duplicate(DeliveryState::Forwarded));
    }

    #[test]
    fn a_delivery_out_of_attempts_is_dead_lettered_and_can_be_replayed() {
        let mut world = world();
        world
            .config
            .0
            .insert("outbox_max_attempts".into(), "2".into());
        world.http.respond(200, &fixture("api/opportunity"));
        world.http.respond(500, "broken");
        let receipt = handle(&world, &fixture("webhooks/candidateStageChange")).unwrap();
        assert!(matches!(receipt.outcome, Outcome::Queued(_)), "{receipt:?}");
        world.clock.sleep_ms(crate::outbox::BASE_BACKOFF_MS + 1);
        world.http.respond(200, &fixture("api/opportunity"));
        world.http.respond(500, "still broken");
        let report = crate::outbox::tick(&world.env()).unwrap();
        assert_eq!(report.dead_lettered, 1, "{report:?}");
        let letters = crate::outbox::dead_letters(&world.env(), &acme()).unwrap();
        assert_eq!(letters.len(), 1);
        assert_eq!(letters[0].attempts, 2);
        assert!(
            letters[0].last_error.contains("still broken"),
            "{letters:?}"
        );
        // The admin's activity log says it gave up, and why.
        let newest = &crate::activity::recent(&world.env(), &acme(), 1).unwrap()[0];
        assert_eq!(newest.outcome, "dead-lettered");
        assert!(
            newest.detail.starts_with("gave up after 2 attempts:")
                && newest.detail.contains("still broken"),
            "{newest:?}"
        );
        let again = handle(&world, &fixture("webhooks/candidateStageChange")).unwrap();
        assert_eq!(
            again.outcome,
            Outcome::Duplicate(DeliveryState::DeadLettered)
        );
        // Fixed: the replay delivers it and empties the dead letters.
        world.http.respond(200, &fixture("api/opportunity"));
        world.http.respond(204, "");
        let state = crate::outbox::replay(&world.env(), &acme(), &letters[0].token).unwrap();
        assert_eq!(state, DeliveryState::Forwarded);
        assert!(crate::outbox::dead_letters(&world.env(), &acme())
            .unwrap()
            .is_empty());
        assert!(matches!(
            crate::outbox::replay(&world.env(), &acme(), &letters[0].token),
            Err(ConnectorError::NotFound(_))
        ));
    }

    #[test]
    fn a_stale_snapshot_never_overwrites_a_newer_report_and_a_return_to_a_stage_is_reported() {
        fn store(world: &World) -> crate::store::ConnStore<'_> {
            Store::new(&world.kv).connection(&acme())
        }
        let onsite = crate::lever::StageId("9f1c2a22-onsite".into());
        let offer = crate::lever::StageId("9f1c2a23-offer".into());
        // A newer change (offer, later than the fixture's on-site move) was reported: Lever's
        // older snapshot is not sent.
        let world = world();
        store(&world)
            .set_reported_stage_at(&OpportunityId(OPP.into()), &offer, 1_763_942_402_000)
            .unwrap();
        world.http.respond(200, &fixture("api/opportunity"));
        let receipt = handle(&world, &fixture("webhooks/candidateStageChange")).unwrap();
        assert!(
            matches!(
                receipt.outcome,
                Outcome::Skipped(SkipReason::AlreadyReported { .. })
            ),
            "{receipt:?}"
        );
        // On-site was reported for an earlier move: the candidate came back to it, and that
        // is news.
        let world = super::tests::world();
        store(&world)
            .set_reported_stage_at(&OpportunityId(OPP.into()), &onsite, 1_763_000_000_000)
            .unwrap();
        world.http.respond(200, &fixture("api/opportunity"));
        world.http.respond(204, "");
        let receipt = handle(&world, &fixture("webhooks/candidateStageChange")).unwrap();
        assert!(
            matches!(receipt.outcome, Outcome::Forwarded(_)),
            "{receipt:?}"
        );
        // The same change again, or one the partner made itself: nothing is sent.
        let world = super::tests::world();
        store(&world)
            .set_reported_stage(&OpportunityId(OPP.into()), &onsite)
            .unwrap();
        world.http.respond(200, &fixture("api/opportunity"));
        let receipt = handle(&world, &fixture("webhooks/candidateStageChange")).unwrap();
        assert!(
            matches!(
                receipt.outcome,
                Outcome::Skipped(SkipReason::AlreadyReported { .. })
            ),
            "{receipt:?}"
        );
    }

    #[test]
    fn an_archive_change_met_by_another_report_is_retried_then_reported_once() {
        let world = world();
        let store = Store::new(&world.kv).connection(&acme());
        let opportunity = snapshot(
            serde_json::json!({
                "archivedAt": 1_763_942_402_000u64,
                "reason": "63dd55b2-a99f-4e7b-985f-22c7bf80ab42"
            }),
            1_763_942_401_000,
        );
        let report = || report_archive(&world, &opportunity);

        // Another delivery is reporting this opportunity (its stage, say): this archive
        // change is not taken as reported; it fails as a conflict, which the outbox retries.
        assert!(store
            .claim_report(&opportunity.id, NOW, NOW + 60_000, "other")
            .unwrap());
        let held = report();
        assert!(matches!(held, Err(ConnectorError::Conflict(_))), "{held:?}");
        assert!(
            world.http.sent.borrow().is_empty(),
            "nothing sent under the claim"
        );

        // Once it is done, the retry reports the hire, and a second retry sends nothing.
        store.release_report(&opportunity.id).unwrap();
        world.http.respond(
            200,
            r#"{"data":{"id":"63dd55b2-a99f-4e7b-985f-22c7bf80ab42","text":"Hired","status":"active","type":"hired"}}"#,
        );
        world.http.respond(204, "");
        let sent = report().unwrap();
        let Outcome::Forwarded(forwarded) = &sent else {
            panic!("{sent:?}")
        };
        assert_eq!(forwarded.event_type, crate::partner::HIRED);
        assert_eq!(world.http.sent.borrow().len(), 2);
        let again = report().unwrap();
        assert!(
            matches!(again, Outcome::Skipped(SkipReason::AlreadyReported { .. })),
            "{again:?}"
        );
        assert_eq!(world.http.sent.borrow().len(), 2);
    }

    #[test]
    fn an_archive_snapshot_older_than_what_the_partner_knows_is_never_sent() {
        let world = world();
        let report =
            |opportunity: &crate::lever::Opportunity| report_archive(&world, opportunity).unwrap();
        // A recruiter archives (t1) and unarchives (t2). The delivery of the unarchive runs
        // first with Lever's current state: never archived as far as the partner knows, so
        // nothing is sent, but that is remembered...
        let t1 = 1_763_942_500_000u64;
        let active = snapshot(serde_json::Value::Null, t1 + 1_000);
        let first = report(&active);
        assert!(
            matches!(first, Outcome::Skipped(SkipReason::AlreadyReported { .. })),
            "{first:?}"
        );
        // ...so the archive's delivery, holding a snapshot from t1, sends nothing either.
        let archived = snapshot(
            serde_json::json!({ "archivedAt": t1, "reason": "73ee66c3-b0a0-4f8c-a96a-33d8c091bc53" }),
            t1,
        );
        let stale = report(&archived);
        assert!(
            matches!(stale, Outcome::Skipped(SkipReason::AlreadyReported { .. })),
            "{stale:?}"
        );
        assert!(world.http.sent.borrow().is_empty());
        // A later archive (t3) is news.
        let t3 = t1 + 5_000;
        world.http.respond(
            200,
            r#"{"data":{"id":"73ee66c3-b0a0-4f8c-a96a-33d8c091bc53","text":"Underqualified","status":"active","type":"non-hired"}}"#,
        );
        world.http.respond(204, "");
        let later = report(&snapshot(
            serde_json::json!({ "archivedAt": t3, "reason": "73ee66c3-b0a0-4f8c-a96a-33d8c091bc53" }),
            t3,
        ));
        let Outcome::Forwarded(forwarded) = &later else {
            panic!("{later:?}")
        };
        assert_eq!(forwarded.event_type, crate::partner::ARCHIVED);

        // Unarchived (t4), archived again (t5) and unarchived (t6): the last delivery finds
        // the partner already thinks "active" (from t4) and sends nothing, but the archive's
        // delivery, holding the t5 snapshot and running after it, must not send either:
        // Lever ends active.
        let t4 = t3 + 1_000;
        world.http.respond(204, "");
        let unarchived = report(&snapshot(serde_json::Value::Null, t4));
        assert!(
            matches!(&unarchived, Outcome::Forwarded(f) if f.event_type == crate::partner::UNARCHIVED),
            "{unarchived:?}"
        );
        let sent = world.http.sent.borrow().len();
        let last = report(&snapshot(serde_json::Value::Null, t4 + 2_000));
        assert!(
            matches!(last, Outcome::Skipped(SkipReason::AlreadyReported { .. })),
            "{last:?}"
        );
        let late = report(&snapshot(
            serde_json::json!({ "archivedAt": t4 + 1_000, "reason": "73ee66c3-b0a0-4f8c-a96a-33d8c091bc53" }),
            t4 + 1_000,
        ));
        assert!(
            matches!(late, Outcome::Skipped(SkipReason::AlreadyReported { .. })),
            "{late:?}"
        );
        assert_eq!(world.http.sent.borrow().len(), sent, "nothing more sent");
    }

    #[test]
    fn after_an_archive_send_of_unknown_outcome_the_next_state_is_sent_whatever_was_reported() {
        let world = world();
        let report = |opportunity: &crate::lever::Opportunity| report_archive(&world, opportunity);
        let reason = r#"{"data":{"id":"73ee66c3-b0a0-4f8c-a96a-33d8c091bc53","text":"Underqualified","status":"active","type":"non-hired"}}"#;
        let t1 = 1_763_942_500_000u64;
        // The partner knows the candidate is active (t1).
        let first = report(&snapshot(serde_json::Value::Null, t1)).unwrap();
        assert!(matches!(first, Outcome::Skipped(_)), "{first:?}");
        // An archive (t2) is sent, but the answer never comes: the partner may have it.
        world.http.respond(200, reason);
        world.http.fail(TransportError::Failed("timed out".into()));
        let archived = serde_json::json!({ "archivedAt": t1 + 1_000, "reason": "73ee66c3-b0a0-4f8c-a96a-33d8c091bc53" });
        assert!(report(&snapshot(archived, t1 + 1_000)).is_err());
        // Unarchived again (t3) before the retry: "active" is sent, though it was the state
        // last known to be reported.
        world.http.respond(204, "");
        let retry = report(&snapshot(serde_json::Value::Null, t1 + 2_000)).unwrap();
        assert!(
            matches!(&retry, Outcome::Forwarded(f) if f.event_type == crate::partner::UNARCHIVED),
            "{retry:?}"
        );
    }

    #[test]
    fn a_partner_move_lever_refuses_puts_back_what_was_reported_with_its_time() {
        let world = world();
        let env = world.env();
        let store = Store::new(&world.kv).connection(&acme());
        let opportunity = OpportunityId(OPP.into());
        let onsite = StageId("9f1c2a22-onsite".into());
        store
            .set_reported_stage_at(&opportunity, &onsite, 1_763_942_401_000)
            .unwrap();
        world.http.respond(200, &fixture("api/opportunity"));
        world.http.respond(200, &fixture("api/stages"));
        world
            .http
            .respond(500, r#"{"code":"InternalError","message":"broken"}"#);
        let moved = crate::sync::partner_stage::set_candidate_stage(
            &env,
            &acme(),
            "cand-42",
            &crate::sync::partner_stage::PartnerMove::Stage("offer".into()),
        );
        assert!(moved.is_err(), "{moved:?}");
        assert_eq!(
            store.reported_stage_at(&opportunity).unwrap(),
            Some((onsite, Some(1_763_942_401_000)))
        );
    }

    #[test]
    fn reconciliation_reads_again_what_another_delivery_is_reporting() {
        let world = world();
        let env = world.env();
        let store = Store::new(&world.kv).connection(&acme());
        let opportunity = OpportunityId(OPP.into());
        assert!(store
            .claim_report(&opportunity, NOW, NOW + 60_000, "other")
            .unwrap());
        let page = |body: &str| {
            let value: serde_json::Value = serde_json::from_str(body).unwrap();
            serde_json::json!({ "data": [value["data"]], "hasNext": false }).to_string()
        };
        world.http.respond(200, &page(&fixture("api/opportunity")));
        let report = crate::sync::reconcile::reconcile(&env, &acme()).unwrap();
        assert_eq!(report.tracked, 1);
        assert_eq!(report.fixed, 0);
        // The cursor stays at the busy opportunity's change, so the next run sees it again.
        assert_eq!(store.reconcile_cursor().unwrap(), Some(1_763_942_401_000));

        store.release_report(&opportunity).unwrap();
        world.http.respond(200, &page(&fixture("api/opportunity")));
        world.http.respond(204, "");
        let report = crate::sync::reconcile::reconcile(&env, &acme()).unwrap();
        assert_eq!(report.fixed, 1, "{report:?}");
    }

    #[test]
    fn lever_unreachable_is_queued_with_the_reason() {
        let world = world();
        world
            .http
            .fail(TransportError::Failed("connection refused".into()));
        let receipt = handle(&world, &fixture("webhooks/candidateStageChange")).unwrap();
        let Outcome::Queued(queued) = &receipt.outcome else {
            panic!("{receipt:?}")
        };
        assert!(
            queued.last_error.starts_with("lever answered 0"),
            "{queued:?}"
        );
    }

    #[test]
    fn unknown_unlinked_unmapped_and_reported_are_typed_skips() {
        let world = world();
        world
            .http
            .respond(404, r#"{"code":"ResourceNotFound","message":"not found"}"#);
        let receipt = handle(&world, &fixture("webhooks/candidateStageChange")).unwrap();
        assert!(matches!(
            receipt.outcome,
            Outcome::Skipped(SkipReason::OpportunityNotInLever { .. })
        ));

        let opportunity = fixture("api/opportunity");
        let unmapped =
            opportunity.replace("\"stage\": \"9f1c2a22-onsite\"", "\"stage\": \"lead-new\"");
        let world = World { ..world_fresh() };
        world.http.respond(200, &unmapped);
        let receipt = handle(&world, &fixture("webhooks/candidateStageChange")).unwrap();
        assert_eq!(
            receipt.outcome,
            Outcome::Skipped(SkipReason::StageNotMapped {
                stage_id: "lead-new".into()
            })
        );
        let wire = serde_json::to_value(&receipt).unwrap();
        assert_eq!(wire["skipped"]["reason"], "stage-not-mapped");

        let world = world_fresh();
        Store::new(&world.kv)
            .connection(&acme())
            .set_reported_stage(
                &OpportunityId(OPP.into()),
                &StageId("9f1c2a22-onsite".into()),
            )
            .unwrap();
        world.http.respond(200, &opportunity);
        let receipt = handle(&world, &fixture("webhooks/candidateStageChange")).unwrap();
        assert!(matches!(
            receipt.outcome,
            Outcome::Skipped(SkipReason::AlreadyReported { .. })
        ));
    }

    fn world_fresh() -> World {
        world()
    }

    #[test]
    fn unknown_and_unhandled_events_are_ignored_without_calls() {
        let world = world();
        let receipt = handle(&world, &fixture("webhooks/bad/unknown-event")).unwrap();
        assert_eq!(
            receipt.outcome,
            Outcome::Ignored("candidateTeleported".into())
        );
        assert!(world.http.sent.borrow().is_empty());
    }

    #[test]
    fn stale_and_forged_deliveries_are_unauthorized_before_any_call() {
        let world = world();
        world.clock.sleep_ms(10 * 60 * 1000);
        assert!(matches!(
            handle(&world, &fixture("webhooks/candidateStageChange")),
            Err(ConnectorError::Unauthorized(ref m)) if m.contains("triggeredAt")
        ));
        let world = world_fresh();
        assert!(matches!(
            handle(&world, &fixture("webhooks/bad/bad-signature")),
            Err(ConnectorError::Unauthorized(_))
        ));
        assert!(world.http.sent.borrow().is_empty());
    }

    #[test]
    fn errors_never_show_secrets() {
        let world = world();
        world
            .http
            .respond(401, r#"{"code":"Unauthorized","message":"bad key"}"#);
        let receipt = handle(&world, &fixture("webhooks/candidateStageChange")).unwrap();
        let printed = format!("{receipt:?} {}", serde_json::to_string(&receipt).unwrap());
        assert!(printed.contains("Unauthorized"), "{printed}");
        assert!(!printed.contains("planted-api-key"));
        assert!(!printed.contains("test-signature-token-7f3a"));
        let stored: String = world
            .kv
            .0
            .borrow()
            .values()
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .collect();
        assert!(!stored.contains("planted-api-key"));
        assert!(!stored.contains("test-signature-token-7f3a"));
    }
}
