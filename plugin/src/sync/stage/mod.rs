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

mod outcome;
mod report;
#[cfg(test)]
mod tests;

pub use outcome::{Forwarded, Outcome, Receipt, SkipReason};
pub use report::{fetch_opportunity, link_candidate, linked_candidate, notify, report_stage};
use report::{report_claimed, stage_changed};

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
