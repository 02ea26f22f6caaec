//! The sync's unit tests: the delivery pipeline, stage reports, archives, replays and
//! failures, against recording fakes.

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
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24,
        25, 26, 27, 28, 29, 30, 31,
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
    let mut value: serde_json::Value = serde_json::from_str(&fixture("api/opportunity")).unwrap();
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
    crate::sync::candidate_events::report_archive(&env, &acme(), &partner, &api, opportunity, false)
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
    let mut lever: serde_json::Value = serde_json::from_str(&fixture("api/opportunity")).unwrap();
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
    let unmapped = opportunity.replace("\"stage\": \"9f1c2a22-onsite\"", "\"stage\": \"lead-new\"");
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
