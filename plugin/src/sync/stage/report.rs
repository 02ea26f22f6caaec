//! A confirmed stage change reported to the partner, once per state, and the links between
//! partner candidates and Lever opportunities.

use super::*;

pub(super) fn stage_changed(
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
pub(super) fn known_to_partner(
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

pub(super) fn already_reported(opportunity: &Opportunity) -> Outcome {
    Outcome::Skipped(SkipReason::AlreadyReported {
        state: opportunity.stage.to_string(),
    })
}

/// [`report_stage`] under the report claim: looks (again) at what the partner knows, and
/// sends the stage unless it is known or not mapped. Answers the outcome and the write that
/// remembers what was reported, for the caller to make as it releases the claim.
pub(super) fn report_claimed(
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
