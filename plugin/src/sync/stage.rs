//! Lever → partner stage sync: the `candidateStageChange` webhook flow.
//!
//! verify the delivery → claim its token (atomically; a replay is a duplicate) → confirm
//! the opportunity's stage with Lever → map it → find the linked partner candidate → POST a
//! signed `candidate.stage_changed` event to the partner → record the delivery.
//!
//! A delivery is recorded (and so answered 2xx) only once its effect is done; a failure
//! on the way releases the claim, so Lever's retry redoes the work.

use crate::config;
use crate::error::ConnectorError;
use crate::io::Env;
use crate::lever::webhook::{self, Event, StageChangeData};
use crate::lever::{self, LeverApi, Opportunity};
use crate::partner::{self, PartnerEvent, StageChanged};
use crate::store::{DeliveryRecord, Store};
use crate::sync::links;

/// The partner event sent for a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forwarded {
    /// The `webhook-id` sent.
    pub webhook_id: String,
    /// The event type.
    pub event_type: &'static str,
    /// The Lever opportunity.
    pub opportunity_id: String,
    /// The partner candidate.
    pub partner_candidate_id: String,
    /// The confirmed Lever stage.
    pub lever_stage_id: String,
    /// The partner stage.
    pub partner_stage: String,
}

/// What was done with an accepted delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The partner was notified.
    Forwarded(Forwarded),
    /// The token was handled before.
    Duplicate,
    /// A verified event not acted on; carries the event name.
    Ignored(String),
    /// Nothing to send; carries the reason.
    Skipped(String),
}

/// The answer to one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The event name.
    pub event: String,
    /// The delivery token.
    pub token: String,
    /// What happened.
    pub outcome: Outcome,
}

/// Handles one Lever webhook delivery given as its raw body.
pub fn handle_lever_webhook(env: &Env, body: &[u8]) -> Result<Receipt, ConnectorError> {
    let delivery = webhook::parse_delivery(body)?;
    let tokens = config::signature_tokens(env.config, &delivery.event)?;
    webhook::verify_signature(&delivery, &tokens)?;
    let now = env.clock.now();
    webhook::check_freshness(&delivery, now, config::webhook_max_age_ms(env.config)?)?;

    let store = Store::new(env.kv);
    let receipt = |outcome| Receipt {
        event: delivery.event.clone(),
        token: delivery.token.clone(),
        outcome,
    };
    let claim = DeliveryRecord {
        event: delivery.event.clone(),
        handled_at: now,
        outcome: "processing".into(),
        detail: String::new(),
    };
    if !store.claim_delivery(&delivery.token, &claim)? {
        return Ok(receipt(Outcome::Duplicate));
    }

    let outcome = match act(env, &store, &delivery) {
        Ok(outcome) => outcome,
        Err(error) => {
            // Nothing was done (or nothing that cannot be redone): free the token so that
            // a retry of this delivery is not mistaken for a replay.
            store.release_delivery(&delivery.token)?;
            return Err(error);
        }
    };
    let (kind, detail) = match &outcome {
        Outcome::Forwarded(f) => ("forwarded", f.webhook_id.clone()),
        Outcome::Ignored(name) => ("ignored", name.clone()),
        Outcome::Skipped(reason) => ("skipped", reason.clone()),
        Outcome::Duplicate => ("duplicate", String::new()),
    };
    store.record_delivery(
        &delivery.token,
        &DeliveryRecord {
            outcome: kind.into(),
            detail,
            ..claim
        },
    )?;
    Ok(receipt(outcome))
}

/// The work a verified, claimed delivery asks for.
fn act(env: &Env, store: &Store, delivery: &webhook::Delivery) -> Result<Outcome, ConnectorError> {
    match webhook::parse_event(delivery)? {
        Event::CandidateStageChange(data) => stage_changed(env, store, &data),
        Event::NotHandled(name) | Event::Unknown(name) => Ok(Outcome::Ignored(name)),
    }
}

fn stage_changed(
    env: &Env,
    store: &Store,
    data: &StageChangeData,
) -> Result<Outcome, ConnectorError> {
    // Everything the flow needs is read up front: a missing key fails before any call.
    let lever = LeverApi::new(config::lever(env.config)?);
    let partner_settings = config::partner(env.config)?;
    let stage_map = links::stage_map(env)?;

    let response = env
        .http
        .send(lever.get_opportunity(&data.opportunity_id))
        .map_err(|e| lever::transport_error(crate::error::Service::Lever, e))?;
    let opportunity: Opportunity = match lever::interpret(response) {
        Ok(opportunity) => opportunity,
        Err(ConnectorError::NotFound(_)) => {
            return Ok(Outcome::Skipped(format!(
                "opportunity {} is not in Lever",
                data.opportunity_id
            )))
        }
        Err(e) => return Err(e),
    };

    let Some(partner_candidate_id) = store.linked_candidate(&opportunity.id)? else {
        return Ok(Outcome::Skipped(format!(
            "opportunity {} is not linked to a partner candidate",
            opportunity.id
        )));
    };
    let Some(partner_stage) = stage_map.get(opportunity.stage.as_str()) else {
        return Ok(Outcome::Skipped(format!(
            "Lever stage {} is not mapped to a partner stage",
            opportunity.stage
        )));
    };
    if store.reported_stage(&opportunity.id)?.as_ref() == Some(&opportunity.stage) {
        return Ok(Outcome::Skipped(format!(
            "stage {} of opportunity {} was already reported",
            opportunity.stage, opportunity.id
        )));
    }

    let (entry, previous) = opportunity.current_stage_entry();
    let occurred_at = entry.map_or(opportunity.updated_at, |e| e.updated_at);
    let webhook_id = partner::event_id(
        partner::STAGE_CHANGED,
        &[
            opportunity.id.as_str(),
            opportunity.stage.as_str(),
            &occurred_at.to_string(),
        ],
    );
    let event = PartnerEvent {
        id: webhook_id.clone(),
        kind: partner::STAGE_CHANGED,
        occurred_at,
        data: StageChanged {
            partner_candidate_id: partner_candidate_id.clone(),
            stage: partner_stage.clone(),
            lever_opportunity_id: opportunity.id.to_string(),
            lever_contact_id: opportunity.contact.to_string(),
            lever_stage_id: opportunity.stage.to_string(),
            previous_lever_stage_id: previous.map(|s| s.to_string()),
        },
    };
    let request = partner::delivery_request(&partner_settings, &event, env.clock.now())?;
    let response = env
        .http
        .send(request)
        .map_err(|e| lever::transport_error(crate::error::Service::Partner, e))?;
    partner::interpret_delivery(&response)?;
    store.set_reported_stage(&opportunity.id, &opportunity.stage)?;

    Ok(Outcome::Forwarded(Forwarded {
        webhook_id,
        event_type: partner::STAGE_CHANGED,
        opportunity_id: opportunity.id.to_string(),
        partner_candidate_id,
        lever_stage_id: opportunity.stage.to_string(),
        partner_stage: partner_stage.clone(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Service;
    use crate::io::fake::{FakeConfig, FakeHttp, FakeKv, FixedClock};
    use crate::io::{Method, TransportError};
    use crate::lever::OpportunityId;
    use crate::partner::WebhookSecret;

    const NOW: u64 = 1_763_942_401_000 + 5_000;
    const OPP: &str = "250d8f03-738a-4bba-a671-8a3d73477145";
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn fixture(path: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/../tests/fixtures/lever/{path}.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    fn config() -> FakeConfig {
        FakeConfig::from_pairs(&[
            ("lever_api_base", "http://lever.test/v1"),
            ("lever_api_key", "planted-api-key"),
            ("lever_signature_token", "test-signature-token-7f3a"),
            ("partner_callback_url", "http://partner.test/hooks/lever"),
            ("partner_webhook_secret", SECRET),
            (
                "stage_map",
                r#"{"9f1c2a22-onsite":"onsite","9f1c2a23-offer":"offer"}"#,
            ),
        ])
    }

    struct World {
        http: FakeHttp,
        kv: FakeKv,
        config: FakeConfig,
        clock: FixedClock,
    }

    impl World {
        fn new() -> Self {
            let world = Self {
                http: FakeHttp::default(),
                kv: FakeKv::default(),
                config: config(),
                clock: FixedClock(NOW),
            };
            links::link_candidate(&world.env(), "cand-42", &OpportunityId(OPP.into())).unwrap();
            world
        }

        fn env(&self) -> Env<'_> {
            Env {
                http: &self.http,
                kv: &self.kv,
                config: &self.config,
                clock: &self.clock,
            }
        }

        fn handle(&self, body: &str) -> Result<Receipt, ConnectorError> {
            handle_lever_webhook(&self.env(), body.as_bytes())
        }
    }

    #[test]
    fn stage_change_is_confirmed_with_lever_and_forwarded_signed() {
        let world = World::new();
        world.http.respond(200, &fixture("api/opportunity"));
        world.http.respond(204, "");

        let receipt = world
            .handle(&fixture("webhooks/candidateStageChange"))
            .unwrap();
        let Outcome::Forwarded(forwarded) = &receipt.outcome else {
            panic!("{receipt:?}")
        };
        assert_eq!(forwarded.partner_candidate_id, "cand-42");
        assert_eq!(forwarded.partner_stage, "onsite");

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
        assert_eq!(event["data"]["partnerCandidateId"], "cand-42");
        assert_eq!(event["data"]["stage"], "onsite");
        assert_eq!(event["data"]["leverStageId"], "9f1c2a22-onsite");
        assert_eq!(event["data"]["previousLeverStageId"], "9f1c2a21-phone");
        assert_eq!(
            post.header("webhook-id"),
            Some(forwarded.webhook_id.as_str())
        );
        assert_eq!(
            post.header("webhook-timestamp"),
            Some((NOW / 1000).to_string().as_str())
        );
        let expected =
            WebhookSecret::parse(SECRET)
                .unwrap()
                .sign(&forwarded.webhook_id, NOW / 1000, &body);
        assert_eq!(post.header("webhook-signature"), Some(expected.as_str()));
    }

    #[test]
    fn a_replayed_token_makes_no_second_partner_call() {
        let world = World::new();
        world.http.respond(200, &fixture("api/opportunity"));
        world.http.respond(200, "");
        world
            .handle(&fixture("webhooks/candidateStageChange"))
            .unwrap();
        let again = world
            .handle(&fixture("webhooks/candidateStageChange"))
            .unwrap();
        assert_eq!(again.outcome, Outcome::Duplicate);
        assert_eq!(world.http.sent.borrow().len(), 2);
    }

    #[test]
    fn a_delivery_in_flight_makes_a_concurrent_replay_a_duplicate() {
        let world = World::new();
        let claim = DeliveryRecord {
            event: "candidateStageChange".into(),
            handled_at: NOW,
            outcome: "processing".into(),
            detail: String::new(),
        };
        assert!(Store::new(&world.kv)
            .claim_delivery("tok-0001", &claim)
            .unwrap());
        let receipt = world
            .handle(&fixture("webhooks/candidateStageChange"))
            .unwrap();
        assert_eq!(receipt.outcome, Outcome::Duplicate);
        assert!(world.http.sent.borrow().is_empty());
    }

    #[test]
    fn malformed_data_releases_the_claim() {
        let world = World::new();
        let mut body: serde_json::Value =
            serde_json::from_str(&fixture("webhooks/candidateStageChange")).unwrap();
        body["data"] = serde_json::json!({ "toStageId": "x" });
        assert!(matches!(
            world.handle(&body.to_string()),
            Err(ConnectorError::InvalidInput(_))
        ));
        assert_eq!(Store::new(&world.kv).delivery("tok-0001").unwrap(), None);
    }

    #[test]
    fn swapped_data_is_corrected_by_the_confirming_get() {
        let world = World::new();
        world.http.respond(200, &fixture("api/opportunity"));
        world.http.respond(200, "");
        let receipt = world.handle(&fixture("webhooks/bad/data-swapped")).unwrap();
        let Outcome::Forwarded(forwarded) = receipt.outcome else {
            panic!()
        };
        // The delivery claimed "offer"; Lever says the candidate is on-site.
        assert_eq!(forwarded.lever_stage_id, "9f1c2a22-onsite");
        assert_eq!(forwarded.partner_stage, "onsite");
    }

    #[test]
    fn partner_failure_records_nothing_so_the_retry_redoes_the_work() {
        let world = World::new();
        world.http.respond(200, &fixture("api/opportunity"));
        world.http.respond(503, "down");
        let error = world
            .handle(&fixture("webhooks/candidateStageChange"))
            .unwrap_err();
        assert!(matches!(
            error,
            ConnectorError::Upstream {
                service: Service::Partner,
                status: 503,
                ..
            }
        ));
        world.http.respond(200, &fixture("api/opportunity"));
        world.http.respond(200, "");
        let retry = world
            .handle(&fixture("webhooks/candidateStageChange"))
            .unwrap();
        assert!(matches!(retry.outcome, Outcome::Forwarded(_)));
    }

    #[test]
    fn lever_unreachable_is_an_upstream_error() {
        let world = World::new();
        world
            .http
            .fail(TransportError::Failed("connection refused".into()));
        assert!(matches!(
            world.handle(&fixture("webhooks/candidateStageChange")),
            Err(ConnectorError::Upstream {
                service: Service::Lever,
                status: 0,
                ..
            })
        ));
    }

    #[test]
    fn unknown_opportunity_is_skipped_and_recorded() {
        let world = World::new();
        world
            .http
            .respond(404, r#"{"code":"ResourceNotFound","message":"not found"}"#);
        let receipt = world
            .handle(&fixture("webhooks/candidateStageChange"))
            .unwrap();
        assert!(matches!(receipt.outcome, Outcome::Skipped(ref r) if r.contains("not in Lever")));
        let record = Store::new(&world.kv).delivery("tok-0001").unwrap().unwrap();
        assert_eq!(record.outcome, "skipped");
        assert_eq!(world.http.sent.borrow().len(), 1);
    }

    #[test]
    fn unlinked_unmapped_and_already_reported_stages_are_skipped() {
        let world = World::new();
        let opportunity = fixture("api/opportunity");

        let unmapped =
            opportunity.replace("\"stage\": \"9f1c2a22-onsite\"", "\"stage\": \"lead-new\"");
        world.http.respond(200, &unmapped);
        let receipt = world
            .handle(&fixture("webhooks/candidateStageChange"))
            .unwrap();
        assert!(matches!(receipt.outcome, Outcome::Skipped(ref r) if r.contains("not mapped")));

        let world = World::new();
        Store::new(&world.kv)
            .set_reported_stage(
                &OpportunityId(OPP.into()),
                &crate::lever::StageId("9f1c2a22-onsite".into()),
            )
            .unwrap();
        world.http.respond(200, &opportunity);
        let receipt = world
            .handle(&fixture("webhooks/candidateStageChange"))
            .unwrap();
        assert!(
            matches!(receipt.outcome, Outcome::Skipped(ref r) if r.contains("already reported"))
        );

        let world = World {
            kv: FakeKv::default(),
            ..World::new()
        };
        world.http.respond(200, &opportunity);
        let receipt = world
            .handle(&fixture("webhooks/candidateStageChange"))
            .unwrap();
        assert!(matches!(receipt.outcome, Outcome::Skipped(ref r) if r.contains("not linked")));
    }

    #[test]
    fn unknown_and_unhandled_events_are_ignored_without_calls() {
        let world = World::new();
        let receipt = world
            .handle(&fixture("webhooks/bad/unknown-event"))
            .unwrap();
        assert_eq!(
            receipt.outcome,
            Outcome::Ignored("candidateTeleported".into())
        );
        let receipt = world.handle(&fixture("webhooks/candidateHired")).unwrap();
        assert_eq!(receipt.outcome, Outcome::Ignored("candidateHired".into()));
        assert!(world.http.sent.borrow().is_empty());
    }

    #[test]
    fn stale_and_forged_deliveries_are_unauthorized_before_any_call() {
        let world = World {
            clock: FixedClock(NOW + 10 * 60 * 1000),
            ..World::new()
        };
        assert!(matches!(
            world.handle(&fixture("webhooks/candidateStageChange")),
            Err(ConnectorError::Unauthorized(ref m)) if m.contains("triggeredAt")
        ));
        let world = World::new();
        assert!(matches!(
            world.handle(&fixture("webhooks/bad/bad-signature")),
            Err(ConnectorError::Unauthorized(_))
        ));
        assert!(world.http.sent.borrow().is_empty());
    }

    #[test]
    fn missing_configuration_names_the_key() {
        for missing in [
            "partner_callback_url",
            "partner_webhook_secret",
            "lever_api_key",
            "stage_map",
        ] {
            let mut world = World::new();
            world.config.0.remove(missing);
            world.http.respond(200, &fixture("api/opportunity"));
            assert_eq!(
                world
                    .handle(&fixture("webhooks/candidateStageChange"))
                    .unwrap_err(),
                ConnectorError::NotConfigured(missing.into()),
            );
        }
    }

    #[test]
    fn errors_and_configuration_never_show_secrets() {
        let world = World::new();
        let settings = (config::lever(&world.config), config::partner(&world.config));
        let printed = format!("{settings:?}");
        assert!(!printed.contains("planted-api-key"));
        assert!(!printed.contains("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
        world
            .http
            .respond(401, r#"{"code":"Unauthorized","message":"bad key"}"#);
        let error = world
            .handle(&fixture("webhooks/candidateStageChange"))
            .unwrap_err();
        let printed = format!("{error:?} {error} {}", error.to_json());
        assert!(!printed.contains("planted-api-key"));
        assert!(!printed.contains("test-signature-token-7f3a"));
    }
}
