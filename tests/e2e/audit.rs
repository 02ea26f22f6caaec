//! The audit trail and dry runs: every write to Lever or the partner is listed per
//! connection with its cause and `perform_as` user; a dry run answers the write that would
//! be sent, credentials masked, and sends nothing.

use lever_host::sim::lever::{ACME, DEFAULT_API_KEY};
use lever_host::sim::partner;
use serde_json::{json, Value};

use crate::harness::*;

async fn with_headers(
    world: &World,
    method: &str,
    path: &str,
    body: Value,
    extra: &[(&str, &str)],
) -> lever_host::http_util::ClientResponse {
    let bearer = format!("Bearer {}", partner::DEFAULT_API_KEY);
    let mut headers = vec![
        ("authorization", bearer.as_str()),
        ("content-type", "application/json"),
    ];
    headers.extend_from_slice(extra);
    world
        .client
        .send(
            method,
            &format!("{}{path}", world.served.url()),
            &headers,
            body.to_string(),
        )
        .await
        .unwrap()
}

/// A dry run of the partner moving Ada's candidate to "offer": its (successful) answer.
async fn rehearse_move_to_offer(world: &World) -> lever_host::http_util::ClientResponse {
    let rehearsal = with_headers(
        world,
        "PUT",
        "/connections/acme/candidates/cand-ada/stage",
        json!({ "stage": "offer" }),
        &[("lever-dry-run", "true")],
    )
    .await;
    assert_eq!(rehearsal.status, 200, "{}", rehearsal.text());
    rehearsal
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_are_audited_per_connection_and_a_dry_run_sends_nothing() {
    let world = World::start().await;
    world.set_up_globex().await;
    world
        .ok(
            "PUT",
            "/connections/acme/perform-as",
            Some(json!({ "userId": RECRUITER })),
        )
        .await;

    // Setting up wrote the webhooks.
    let setup = world.ok("GET", "/connections/acme/audit", None).await["data"].clone();
    let installs = setup.as_array().unwrap();
    assert_eq!(
        installs.len(),
        lever_plugin::store::WEBHOOK_EVENTS.len(),
        "{setup}"
    );
    assert!(installs.iter().all(|e| e["method"] == "POST"
        && e["url"].as_str().unwrap().ends_with("/v1/webhooks")
        && e["cause"] == "partner call: install-webhooks"));

    // A dry run of a partner move: the request Lever would get, and no change in Lever.
    let rehearsal = rehearse_move_to_offer(&world).await;
    let dry = &rehearsal.json()["dryRun"];
    assert_eq!(dry["service"], "lever");
    assert_eq!(dry["method"], "PUT");
    let url = dry["url"].as_str().unwrap();
    assert!(
        url.contains(&format!("/opportunities/{ADA}/stage")) && url.contains(RECRUITER),
        "{url}"
    );
    assert!(dry["headers"]
        .as_array()
        .unwrap()
        .contains(&json!(["authorization", "Basic ***"])));
    assert!(dry["body"].as_str().unwrap().contains(OFFER));
    assert!(!rehearsal.text().contains(DEFAULT_API_KEY));
    assert_eq!(world.sims.lever.opportunity(ADA).unwrap()["stage"], ONSITE);
    assert_eq!(
        world.ok("GET", "/connections/acme/audit", None).await["data"],
        setup,
        "a dry run writes nothing and records nothing"
    );

    // The move itself: audited with its user and cause.
    let mut deliveries = world.sims.lever.subscribe();
    world
        .ok(
            "PUT",
            "/connections/acme/candidates/cand-ada/stage",
            Some(json!({ "stage": "offer" })),
        )
        .await;
    assert_eq!(world.sims.lever.opportunity(ADA).unwrap()["stage"], OFFER);
    let audit = world.ok("GET", "/connections/acme/audit", None).await;
    let entries = audit["data"].as_array().unwrap();
    // The webhook installs and the move.
    assert_eq!(
        entries.len(),
        lever_plugin::store::WEBHOOK_EVENTS.len() + 1,
        "{audit}"
    );
    assert_eq!(entries[0]["service"], "lever");
    assert_eq!(entries[0]["method"], "PUT");
    assert_eq!(entries[0]["performAs"], RECRUITER);
    assert_eq!(entries[0]["status"], 200);
    assert!(entries[0]["cause"]
        .as_str()
        .unwrap()
        .contains("set-candidate-stage cand-ada"));

    // The partner's move made Lever send a webhook too; it is not echoed back. Handled
    // before the next change, it cannot be the delivery that reports that change (a late
    // webhook reports Lever's state as it is by then, which would be the next change).
    let echo = stage_change_delivery(&mut deliveries, ADA, OFFER).await;
    assert_eq!(echo.status, Some(200), "{}", echo.response);

    // A Lever change forwarded to the partner: the callback is audited, caused by the
    // delivery.
    world.sims.lever.move_stage(ADA, PHONE);
    let delivery = stage_change_delivery(&mut deliveries, ADA, PHONE).await;
    assert_eq!(delivery.status, Some(200), "{}", delivery.response);
    let token = delivery.body["token"].as_str().unwrap().to_string();
    let audit = world.ok("GET", "/connections/acme/audit", None).await;
    let newest = &audit["data"][0];
    assert_eq!(newest["service"], "partner");
    assert_eq!(newest["method"], "POST");
    assert_eq!(newest["status"], 204);
    assert_eq!(
        newest["cause"],
        format!("Lever candidateStageChange delivery {token}")
    );
    assert!(!audit.to_string().contains(DEFAULT_API_KEY));

    // Globex's trail holds its own webhook installs only.
    let globex = world.ok("GET", "/connections/globex/audit", None).await;
    assert_eq!(
        globex["data"].as_array().unwrap().len(),
        lever_plugin::store::WEBHOOK_EVENTS.len()
    );
    assert!(!globex.to_string().contains(ADA));
}

#[tokio::test(flavor = "multi_thread")]
async fn oauth_token_calls_are_audited_once_and_a_dry_run_rehearses_the_write_past_a_refresh() {
    let world = World::bare().await;
    assert_eq!(world.connect_oauth("acme", ACME).await.status, 200);
    let audit = world.ok("GET", "/connections/acme/audit", None).await;
    let exchange = &audit["data"][0];
    assert_eq!(exchange["method"], "POST", "{audit}");
    assert_eq!(exchange["service"], "lever");
    assert_eq!(exchange["cause"], "OAuth code exchange");
    assert_eq!(exchange["status"], 200);
    world
        .ok("PUT", "/connections/acme/stage-map", Some(acme_stage_map()))
        .await;
    world
        .ok(
            "PUT",
            "/connections/acme/candidates/cand-ada/link",
            Some(json!({ "opportunityId": ADA })),
        )
        .await;
    let before = world.ok("GET", "/connections/acme/audit", None).await["data"]
        .as_array()
        .unwrap()
        .len();

    // The access token has expired: a dry run refreshes it (that is not the write it
    // rehearses, and its body, which carries the client secret, is never shown)...
    world
        .connector
        .advance_clock(std::time::Duration::from_secs(3600));
    let rehearsal = rehearse_move_to_offer(&world).await;
    let dry = &rehearsal.json()["dryRun"];
    assert_eq!(dry["method"], "PUT", "{dry}");
    assert!(dry["url"].as_str().unwrap().contains("/stage"), "{dry}");
    assert!(!rehearsal
        .text()
        .contains(lever_host::sim::lever::oauth::CLIENT_SECRET));
    assert_eq!(world.sims.lever.refreshes(), (1, 0));
    assert_eq!(world.sims.lever.opportunity(ADA).unwrap()["stage"], ONSITE);

    // ...and the refresh is in the trail once, under its own cause.
    let audit = world.ok("GET", "/connections/acme/audit", None).await;
    let entries = audit["data"].as_array().unwrap();
    assert_eq!(entries.len(), before + 1, "{audit}");
    assert_eq!(entries[0]["cause"], "OAuth token refresh");
    assert_eq!(entries[0]["method"], "POST");
    assert_eq!(entries[0]["status"], 200);
    assert!(!audit
        .to_string()
        .contains(lever_host::sim::lever::oauth::CLIENT_SECRET));
}
