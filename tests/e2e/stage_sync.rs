//! The stage flow through both faces, per connection: a Lever stage change reaches the
//! partner once, correctly signed, with the stage Lever confirms and the connection's id.

use lever_host::runtime::bindings::exports::lever::connector::webhooks::{
    DeliveryState, WebhookOutcome,
};

use crate::harness::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn lever_stage_change_reaches_the_partner_once_correctly_signed() {
    let world = World::start().await;
    let mut deliveries = world.sims.lever.subscribe();

    // A recruiter moves Ada back to the phone interview in Lever; Lever delivers the webhook
    // the connector installed.
    world.sims.lever.move_stage(ADA, PHONE);
    let delivery = tokio::time::timeout(WAIT, deliveries.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(delivery.status, Some(200), "{}", delivery.response);
    assert_eq!(delivery.url, world.webhook_url("acme"));

    let received = world.sims.partner.received();
    assert_eq!(received.len(), 1, "{received:?}");
    let event = &received[0];
    assert!(event.verified, "{:?}", event.rejection);
    assert_eq!(event.path, lever_host::sim::PARTNER_CALLBACK_PATH);
    assert_eq!(event.body["type"], "candidate.stage_changed");
    assert_eq!(event.body["connectionId"], "acme");
    assert_eq!(event.body["id"].as_str(), event.webhook_id.as_deref());
    assert_eq!(event.body["data"]["partnerCandidateId"], "cand-ada");
    assert_eq!(event.body["data"]["leverOpportunityId"], ADA);
    assert_eq!(event.body["data"]["leverContactId"], ADA_CONTACT);
    assert_eq!(event.body["data"]["leverStageId"], PHONE);
    assert_eq!(event.body["data"]["previousLeverStageId"], ONSITE);
    assert_eq!(event.body["data"]["stage"], "interviewing");

    // The connector's answer to Lever says what it did.
    let answer: serde_json::Value = serde_json::from_str(&delivery.response).unwrap();
    assert_eq!(answer["connectionId"], "acme");
    assert_eq!(
        answer["forwarded"]["webhookId"].as_str(),
        event.webhook_id.as_deref()
    );
    assert_eq!(answer["forwarded"]["partnerStage"], "interviewing");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_partner_that_cannot_verify_the_signature_keeps_the_delivery_queued() {
    // The connector signs with a secret the partner does not have.
    let world = World::start_with(|settings| {
        settings.connector.insert(
            "partner_webhook_secret".into(),
            "whsec_d3Jvbmctc2VjcmV0LWtleQ==".into(),
        );
    })
    .await;
    let response = world.post(&world.ada_moved(ONSITE)).await;
    assert_eq!(response.status, 202, "{}", response.text());
    let body = response.json();
    assert!(
        body["queued"]["lastError"]
            .as_str()
            .unwrap()
            .starts_with("partner answered 401"),
        "{body}"
    );
    let received = world.sims.partner.received();
    assert_eq!(received.len(), 1);
    assert!(!received[0].verified);
    assert!(world.partner_events().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn unsigned_data_is_not_trusted_the_stage_comes_from_lever() {
    let world = World::start().await;
    // The delivery claims "offer"; Lever says Ada is on-site.
    let response = world.post(&world.ada_moved(OFFER)).await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json()["forwarded"]["leverStageId"], ONSITE);
    let events = world.partner_events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["data"]["stage"], "onsite");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_typed_face_runs_the_same_flow() {
    let world = World::start().await;
    let body = world.ada_moved(ONSITE).to_string();
    let receipt = world
        .connector
        .handle_lever_webhook("acme", body.as_bytes())
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(receipt.event, "candidateStageChange");
    assert_eq!(receipt.connection, "acme");
    let WebhookOutcome::Forwarded(forwarded) = receipt.outcome else {
        panic!("{:?}", receipt.outcome)
    };
    assert_eq!(forwarded.partner_candidate_id, "cand-ada");
    assert_eq!(forwarded.partner_stage.as_deref(), Some("onsite"));
    assert_eq!(forwarded.event_type, "candidate.stage_changed");
    let events = world.partner_events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["id"], forwarded.webhook_id.as_str());

    // The same body through the typed face again is a duplicate of a forwarded delivery.
    let again = world
        .connector
        .handle_lever_webhook("acme", body.as_bytes())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(
        again.outcome,
        WebhookOutcome::Duplicate(DeliveryState::Forwarded)
    ));
    assert_eq!(world.partner_events().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_partner_outage_is_retried_from_the_outbox_and_nothing_is_lost() {
    let world = World::start().await;
    world.sims.partner.fail_next(1, 503);
    let mut deliveries = world.sims.lever.subscribe();
    world.sims.lever.move_stage(ADA, OFFER);

    let first = tokio::time::timeout(WAIT, deliveries.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        first.status,
        Some(202),
        "accepted into the outbox: {}",
        first.response
    );
    let answer: serde_json::Value = serde_json::from_str(&first.response).unwrap();
    assert_eq!(answer["queued"]["attempts"], 1);
    assert!(answer["queued"]["lastError"]
        .as_str()
        .unwrap()
        .contains("503"));
    // Not due yet: a tick does nothing.
    let report = world.connector.tick().await.unwrap().unwrap();
    assert_eq!(report["attempted"], 0, "{report}");
    assert_eq!(world.sims.partner.received().len(), 1);
    // Due: the tick delivers it.
    world
        .connector
        .advance_clock(std::time::Duration::from_millis(2_100));
    let report = world.connector.tick().await.unwrap().unwrap();
    assert_eq!(report["delivered"], 1, "{report}");
    // Lever got its 2xx the first time, and is not asked to retry.
    assert_eq!(world.sims.lever.deliveries().len(), 1);

    let received = world.sims.partner.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].answered, 503);
    assert_eq!(received[1].answered, 204);
    // The retry is the same event to the partner: the same webhook-id, its dedupe key.
    assert_eq!(received[0].webhook_id, received[1].webhook_id);
    assert_eq!(received[1].body["data"]["stage"], "offer");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_native_baseline_serves_the_same_flow_with_the_same_answers() {
    // `lever-host bench` compares the component with this; it must do the same work.
    let world = World::bare_native().await;
    world.set_up_acme().await;
    let mut deliveries = world.sims.lever.subscribe();
    world.sims.lever.move_stage(ADA, PHONE);
    let delivery = tokio::time::timeout(WAIT, deliveries.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(delivery.status, Some(200), "{}", delivery.response);
    let received = world.sims.partner.received();
    assert_eq!(received.len(), 1, "{received:?}");
    assert!(received[0].verified);
    assert_eq!(received[0].body["data"]["stage"], "interviewing");
    let answer: serde_json::Value = serde_json::from_str(&delivery.response).unwrap();
    assert_eq!(answer["forwarded"]["partnerStage"], "interviewing");

    // Refusals are the same too: a forged delivery, a missing partner credential.
    let forged = world
        .client
        .post_json(
            &world.webhook_url("acme"),
            &[],
            &serde_json::json!({ "event": "candidateStageChange", "token": "t",
                "triggeredAt": lever_host::http_util::now_ms(), "signature": "00" }),
        )
        .await
        .unwrap();
    assert_eq!(forged.status, 401, "{}", forged.text());
    let anonymous = world
        .client
        .get(&format!("{}/connections/acme", world.served.url()), &[])
        .await
        .unwrap();
    assert_eq!(anonymous.status, 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delivery_out_of_attempts_is_listed_and_replayed_through_the_partner_api() {
    let world = World::start_with(|settings| {
        settings
            .connector
            .insert("outbox_max_attempts".into(), "2".into());
    })
    .await;
    world.sims.partner.fail_next(2, 500);
    let first = world.post(&world.ada_moved(OFFER)).await;
    assert_eq!(first.status, 202, "{}", first.text());
    let token = first.json()["token"].as_str().unwrap().to_string();
    let outbox = world.ok("GET", "/connections/acme/outbox", None).await;
    assert_eq!(outbox["data"][0]["token"], token.as_str());
    assert_eq!(outbox["data"][0]["attempts"], 1);

    // `POST /tick` is the partner's (or a scheduler's) to call.
    let anonymous = world
        .client
        .send(
            "POST",
            &format!("{}/tick", world.served.url()),
            &[],
            bytes::Bytes::new(),
        )
        .await
        .unwrap();
    assert_eq!(anonymous.status, 401);
    world
        .connector
        .advance_clock(std::time::Duration::from_millis(2_100));
    let report = world.ok("POST", "/tick", None).await;
    assert_eq!(report["deadLettered"], 1, "{report}");
    assert_eq!(
        world.ok("GET", "/connections/acme/outbox", None).await["data"],
        json!([])
    );
    let letters = world
        .ok("GET", "/connections/acme/dead-letters", None)
        .await;
    assert_eq!(letters["data"][0]["token"], token.as_str());
    assert_eq!(letters["data"][0]["attempts"], 2);
    assert!(letters["data"][0]["lastError"]
        .as_str()
        .unwrap()
        .contains("partner answered 500"));
    // Globex sees none of Acme's.
    world.set_up_globex().await;
    assert_eq!(
        world
            .ok("GET", "/connections/globex/dead-letters", None)
            .await["data"],
        json!([])
    );
    let foreign = world
        .call(
            "POST",
            &format!("/connections/globex/dead-letters/{token}/replay"),
            None,
        )
        .await;
    assert_eq!(foreign.status, 404);

    // The partner is back: the replay delivers it, once.
    let replayed = world
        .ok(
            "POST",
            &format!("/connections/acme/dead-letters/{token}/replay"),
            None,
        )
        .await;
    assert_eq!(replayed["state"], "forwarded");
    let accepted: Vec<_> = world
        .sims
        .partner
        .received()
        .into_iter()
        .filter(|e| e.answered == 204)
        .collect();
    assert_eq!(accepted.len(), 1);
    assert_eq!(
        accepted[0].body["data"]["stage"], "onsite",
        "Lever's stage, not the delivery's claim"
    );
    assert_eq!(
        world
            .ok("GET", "/connections/acme/dead-letters", None)
            .await["data"],
        json!([])
    );
    let again = world
        .call(
            "POST",
            &format!("/connections/acme/dead-letters/{token}/replay"),
            None,
        )
        .await;
    assert_eq!(again.status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_ticks_at_once_deliver_each_item_once() {
    // Two ticks racing on one store (as two hosts sharing it would): the lease decides.
    let world = World::start().await;
    world.sims.partner.fail_next(1, 503);
    let first = world.post(&world.ada_moved(OFFER)).await;
    assert_eq!(first.status, 202, "{}", first.text());
    world
        .connector
        .advance_clock(std::time::Duration::from_millis(2_100));
    let other = world.connector.clone();
    let (a, b) = tokio::join!(world.connector.tick(), other.tick());
    let delivered = [a, b]
        .into_iter()
        .map(|r| r.unwrap().unwrap()["delivered"].as_u64().unwrap())
        .sum::<u64>();
    assert_eq!(delivered, 1);
    let received = world.sims.partner.received();
    assert_eq!(received.len(), 2, "one failed attempt, one delivery");
    assert_eq!(received[1].answered, 204);
}
