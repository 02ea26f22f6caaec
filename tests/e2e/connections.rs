//! Connections: many Lever accounts in one deployment, each connected (API key or OAuth)
//! and set up by its own admin, isolated from the others.

use std::time::Duration;

use lever_host::sim::lever::{ACME, DEFAULT_API_KEY, GLOBEX};
use serde_json::json;

use crate::harness::*;

const HOUR: Duration = Duration::from_secs(3600);

#[tokio::test(flavor = "multi_thread")]
async fn two_connections_on_two_accounts_stay_isolated() {
    let world = World::start().await;
    world.set_up_globex().await;
    let mut deliveries = world.sims.lever.subscribe();
    world.sims.lever.move_stage(ADA, PHONE);
    world.sims.lever.move_stage(KATHERINE, GLOBEX_TECH);
    let mut by_account = std::collections::BTreeMap::new();
    for _ in 0..2 {
        let delivery = tokio::time::timeout(WAIT, deliveries.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(delivery.status, Some(200), "{}", delivery.response);
        by_account.insert(delivery.account.clone(), delivery);
    }
    assert_eq!(by_account[ACME].url, world.webhook_url("acme"));
    assert_eq!(by_account[GLOBEX].url, world.webhook_url("globex"));

    let mut events = world.partner_events();
    events.sort_by(|a, b| a["connectionId"].as_str().cmp(&b["connectionId"].as_str()));
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["connectionId"], "acme");
    assert_eq!(events[0]["data"]["partnerCandidateId"], "cand-ada");
    assert_eq!(events[1]["connectionId"], "globex");
    assert_eq!(events[1]["data"]["partnerCandidateId"], "cand-kj");
    assert_eq!(events[1]["data"]["stage"], "interviewing");

    // A delivery signed for Acme, posted to Globex's URL, is refused and does nothing.
    let crossed = world
        .post_raw("globex", by_account[ACME].body.to_string())
        .await;
    assert_eq!(crossed.status, 401, "{}", crossed.text());
    assert_eq!(error_code(&crossed).0, "unauthorized");
    let fresh_for_acme = world.ada_moved(OFFER);
    assert_eq!(
        world
            .post_raw("globex", fresh_for_acme.to_string())
            .await
            .status,
        401
    );
    assert_eq!(world.partner_events().len(), 2);

    // Reads see only their own account and their own links.
    let acme_stages = world
        .ok("GET", "/connections/acme/lever/stages", None)
        .await;
    let globex_stages = world
        .ok("GET", "/connections/globex/lever/stages", None)
        .await;
    assert_eq!(acme_stages["data"].as_array().unwrap().len(), 8);
    assert_eq!(globex_stages["data"].as_array().unwrap().len(), 6);
    let link = world
        .call("GET", "/connections/globex/candidates/cand-ada/link", None)
        .await;
    assert_eq!(link.status, 404);
    assert_eq!(
        world.ok("GET", "/connections/globex/stage-map", None).await,
        json!({ GLOBEX_TECH: "interviewing" })
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn partner_routes_need_the_partner_key_and_touch_nothing_without_it() {
    let world = World::bare().await;
    let routes: [(&str, &str, Option<serde_json::Value>); 6] = [
        ("GET", "/connections/acme", None),
        (
            "POST",
            "/connections/acme/api-key",
            Some(json!({ "apiKey": DEFAULT_API_KEY })),
        ),
        (
            "PUT",
            "/connections/acme/stage-map",
            Some(json!({ ONSITE: "onsite" })),
        ),
        ("POST", "/connections/acme/webhooks", None),
        ("POST", "/connections/acme/oauth/start", None),
        ("DELETE", "/connections/acme?purge=true", None),
    ];
    let url = world.served.url();
    for (method, path, body) in routes.iter().cloned() {
        for auth in [
            None,
            Some("Bearer wrong-key"),
            Some("Basic c2ltLXBhcnRuZXItYXBpLWtleTo="),
        ] {
            let mut headers = vec![("content-type", "application/json")];
            if let Some(auth) = auth {
                headers.push(("authorization", auth));
            }
            let response = world
                .client
                .send(
                    method,
                    &format!("{url}{path}"),
                    &headers,
                    body.clone().map(|b| b.to_string()).unwrap_or_default(),
                )
                .await
                .unwrap();
            assert_eq!(
                response.status,
                401,
                "{method} {path} with {auth:?}: {}",
                response.text()
            );
            assert_eq!(error_code(&response).0, "unauthorized");
        }
    }
    // Nothing was read from Lever or written: no webhooks, no connection, no map.
    assert!(world.sims.lever.webhooks(ACME).is_empty());
    let status = world.ok("GET", "/connections/acme", None).await;
    assert_eq!(status["auth"], "none");
    assert_eq!(
        world.ok("GET", "/connections/acme/stage-map", None).await,
        json!({})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_api_key_lever_rejects_is_401_and_nothing_is_stored() {
    let world = World::bare().await;
    let response = world
        .call(
            "POST",
            "/connections/acme/api-key",
            Some(json!({ "apiKey": "not-a-lever-key" })),
        )
        .await;
    assert_eq!(response.status, 401, "{}", response.text());
    let (code, message) = error_code(&response);
    assert_eq!(code, "unauthorized");
    assert!(message.contains("rejected"), "{message}");
    assert!(!response.text().contains("not-a-lever-key"));
    assert_eq!(
        world.ok("GET", "/connections/acme", None).await["auth"],
        "none"
    );
    let malformed = world
        .call(
            "POST",
            "/connections/acme/api-key",
            Some(json!({ "key": "x" })),
        )
        .await;
    assert_eq!(malformed.status, 400);
    // Calls on an unconnected connection say so.
    let response = world
        .call("GET", "/connections/acme/lever/users", None)
        .await;
    assert_eq!(response.status, 503);
    assert!(error_code(&response).1.contains("not connected"));
}

#[tokio::test(flavor = "multi_thread")]
async fn oauth_connects_records_the_account_and_reports_missing_scopes() {
    let world = World::bare().await;
    let callback = world.connect_oauth("acme", ACME).await;
    assert_eq!(callback.status, 200, "{}", callback.text());
    let connected = &callback.json()["connected"];
    assert_eq!(connected["connection"], "acme");
    assert_eq!(connected["accountId"], ACME);
    assert_eq!(connected["missingScopes"], json!([]));
    let status = world.ok("GET", "/connections/acme", None).await;
    assert_eq!(status["auth"], "oauth");
    assert_eq!(status["accountId"], ACME);
    assert!(status["tokenExpiresAt"].as_u64().unwrap() > lever_host::http_util::now_ms());
    // The token works, for Acme's account only.
    let users = world.ok("GET", "/connections/acme/lever/users", None).await;
    assert_eq!(
        users["data"].as_array().unwrap().len(),
        1,
        "deactivated users are hidden"
    );
    assert_eq!(users["data"][0]["id"], RECRUITER);

    // Globex's admin grants fewer scopes: the connection says what is missing, and a
    // feature needing a missing scope fails with Lever's 403.
    let started = world
        .ok("POST", "/connections/globex/oauth/start", None)
        .await;
    let authorize = started["authorizeUrl"].as_str().unwrap();
    let consent = world
        .client
        .get(
            &format!("{authorize}&account={GLOBEX}&grant=offline_access%20stages:read:admin"),
            &[],
        )
        .await
        .unwrap();
    let callback = world
        .client
        .get(&consent.headers["location"], &[])
        .await
        .unwrap();
    assert_eq!(callback.status, 200, "{}", callback.text());
    let missing: Vec<String> = callback.json()["connected"]["missingScopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["scope"].as_str().unwrap().to_string())
        .collect();
    assert!(
        missing.contains(&"webhooks:write:admin".to_string()),
        "{missing:?}"
    );
    assert!(!missing.contains(&"stages:read:admin".to_string()));
    let install = world
        .call("POST", "/connections/globex/webhooks", None)
        .await;
    assert_eq!(install.status, 502, "{}", install.text());
    assert_eq!(install.json()["error"]["status"], 403);

    // A catalog action outside the grant is refused before Lever is called, naming the
    // scope; one inside it works.
    let before = world.sims.lever.credentials_presented().len();
    let notes = world
        .call(
            "POST",
            "/connections/globex/actions/list-notes",
            Some(json!({ "opportunityId": KATHERINE })),
        )
        .await;
    assert_eq!(notes.status, 401, "{}", notes.text());
    assert!(error_code(&notes).1.contains("notes:read:admin"));
    assert_eq!(world.sims.lever.credentials_presented().len(), before);
    let stages = world
        .call("POST", "/connections/globex/actions/list-stages", None)
        .await;
    assert_eq!(stages.status, 200, "{}", stages.text());
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_expired_replayed_and_refused_oauth_states_are_rejected() {
    let world = World::bare().await;
    let callback = |query: &str| {
        let url = format!("{}/oauth/callback?{query}", world.served.url());
        let client = world.client.clone();
        async move { client.get(&url, &[]).await.unwrap() }
    };
    let unknown = callback("code=c&state=never-issued").await;
    assert_eq!(unknown.status, 401, "{}", unknown.text());
    assert!(error_code(&unknown).1.contains("unknown or already used"));
    assert_eq!(callback("code=c").await.status, 400);

    // Used once, then replayed.
    let started = world
        .ok("POST", "/connections/acme/oauth/start", None)
        .await;
    let authorize = started["authorizeUrl"].as_str().unwrap();
    let consent = world
        .client
        .get(&format!("{authorize}&account={ACME}"), &[])
        .await
        .unwrap();
    let location = consent.headers["location"].clone();
    assert_eq!(world.client.get(&location, &[]).await.unwrap().status, 200);
    let replayed = world.client.get(&location, &[]).await.unwrap();
    assert_eq!(replayed.status, 401);
    assert!(error_code(&replayed).1.contains("already used"));

    // Expired: the admin took more than 10 minutes.
    let started = world
        .ok("POST", "/connections/globex/oauth/start", None)
        .await;
    let authorize = started["authorizeUrl"].as_str().unwrap().to_string();
    world.connector.advance_clock(Duration::from_secs(11 * 60));
    let consent = world
        .client
        .get(&format!("{authorize}&account={GLOBEX}"), &[])
        .await
        .unwrap();
    let expired = world
        .client
        .get(&consent.headers["location"], &[])
        .await
        .unwrap();
    assert_eq!(expired.status, 401);
    assert!(error_code(&expired).1.contains("expired"));
    assert_eq!(
        world.ok("GET", "/connections/globex", None).await["auth"],
        "none"
    );

    // Refused consent.
    let started = world
        .ok("POST", "/connections/globex/oauth/start", None)
        .await;
    let authorize = started["authorizeUrl"].as_str().unwrap();
    let consent = world
        .client
        .get(&format!("{authorize}&deny=true"), &[])
        .await
        .unwrap();
    let denied = world
        .client
        .get(&consent.headers["location"], &[])
        .await
        .unwrap();
    assert_eq!(denied.status, 401);
    assert!(error_code(&denied).1.contains("access_denied"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_token_is_refreshed_transparently_and_the_rotated_refresh_token_kept() {
    let world = World::bare().await;
    assert_eq!(world.connect_oauth("acme", ACME).await.status, 200);
    let before = world.ok("GET", "/connections/acme", None).await["tokenExpiresAt"]
        .as_u64()
        .unwrap();

    // An hour later the access token has expired; the call still works.
    world.connector.advance_clock(HOUR);
    let stages = world
        .ok("GET", "/connections/acme/lever/stages", None)
        .await;
    assert_eq!(stages["data"].as_array().unwrap().len(), 8);
    assert_eq!(world.sims.lever.refreshes(), (1, 0));
    let after = world.ok("GET", "/connections/acme", None).await["tokenExpiresAt"]
        .as_u64()
        .unwrap();
    assert!(
        after > before + HOUR.as_millis() as u64 - 60_000,
        "{before} → {after}"
    );

    // Another hour: the refresh uses the rotated refresh token (the simulator killed the
    // first one when it issued the second).
    world.connector.advance_clock(HOUR);
    world
        .ok("GET", "/connections/acme/lever/stages", None)
        .await;
    assert_eq!(world.sims.lever.refreshes(), (2, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn eight_concurrent_calls_with_an_expired_token_cause_exactly_one_refresh() {
    let world = World::bare().await;
    assert_eq!(world.connect_oauth("acme", ACME).await.status, 200);
    world.connector.advance_clock(HOUR);
    let calls = (0..8).map(|_| world.call("GET", "/connections/acme/lever/stages", None));
    let answers = futures::future::join_all(calls).await;
    for answer in &answers {
        assert_eq!(answer.status, 200, "{}", answer.text());
        assert_eq!(answer.json()["data"].as_array().unwrap().len(), 8);
    }
    assert_eq!(world.sims.lever.refreshes(), (1, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_refresh_token_marks_the_connection_for_reconnect() {
    let world = World::bare().await;
    assert_eq!(world.connect_oauth("acme", ACME).await.status, 200);
    assert_eq!(world.sims.lever.revoke_refresh_tokens(ACME), 1);
    world.connector.advance_clock(HOUR);
    let response = world
        .call("GET", "/connections/acme/lever/stages", None)
        .await;
    assert_eq!(response.status, 401, "{}", response.text());
    let (code, message) = error_code(&response);
    assert_eq!(code, "unauthorized");
    assert!(
        message.contains("reconnected") && message.contains("invalid_grant"),
        "{message}"
    );
    let status = world.ok("GET", "/connections/acme", None).await;
    assert_eq!(status["reconnectNeeded"], true);
    assert!(status["missing"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m.as_str().unwrap().contains("reconnect")));
    // Further calls do not hammer Lever with a dead refresh token.
    assert_eq!(
        world
            .call("GET", "/connections/acme/lever/users", None)
            .await
            .status,
        401
    );
    assert_eq!(world.sims.lever.refreshes(), (0, 1));
    // Reconnecting fixes it.
    assert_eq!(world.connect_oauth("acme", ACME).await.status, 200);
    world
        .ok("GET", "/connections/acme/lever/stages", None)
        .await;
    assert_eq!(
        world.ok("GET", "/connections/acme", None).await["reconnectNeeded"],
        false
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn webhook_install_is_idempotent_and_repairs_what_changed_in_lever() {
    let world = World::bare().await;
    world
        .ok(
            "POST",
            "/connections/acme/api-key",
            Some(json!({ "apiKey": DEFAULT_API_KEY })),
        )
        .await;
    let first = world.ok("POST", "/connections/acme/webhooks", None).await;
    let actions = |report: &serde_json::Value| -> Vec<String> {
        report["webhooks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["action"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        actions(&first),
        vec!["created"; lever_plugin::store::WEBHOOK_EVENTS.len()]
    );
    assert!(first["warnings"][0]
        .as_str()
        .unwrap()
        .contains("Super Admin"));
    let url = world.webhook_url("acme");
    let listed = world.sims.lever.webhooks(ACME);
    assert_eq!(listed.len(), lever_plugin::store::WEBHOOK_EVENTS.len());
    assert!(listed.iter().all(|w| w["url"] == url.as_str()));

    let again = world.ok("POST", "/connections/acme/webhooks", None).await;
    assert_eq!(
        actions(&again),
        vec!["unchanged"; lever_plugin::store::WEBHOOK_EVENTS.len()]
    );
    assert_eq!(
        world.sims.lever.webhooks(ACME).len(),
        lever_plugin::store::WEBHOOK_EVENTS.len()
    );

    // Someone changes one URL and deletes another in Lever; an admin adds a duplicate in
    // Lever's UI.
    let hired = first["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["event"] == "candidateHired")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let deleted = first["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["event"] == "candidateDeleted")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    world
        .sims
        .lever
        .set_webhook_url(&hired, "https://old-host.example/hook");
    world.sims.lever.delete_webhook(&deleted);
    let ui = world
        .sims
        .lever
        .add_webhook(ACME, "candidateStageChange", &url, "ui-made-token");
    let repaired = world.ok("POST", "/connections/acme/webhooks", None).await;
    let by_event = |event: &str| {
        repaired["webhooks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["event"] == event)
            .unwrap()
            .clone()
    };
    assert_eq!(by_event("candidateHired")["action"], "repaired");
    assert_eq!(by_event("candidateHired")["id"], hired.as_str());
    assert_eq!(by_event("candidateDeleted")["action"], "created");
    assert_ne!(by_event("candidateDeleted")["id"], deleted.as_str());
    assert_eq!(by_event("candidateStageChange")["action"], "unchanged");
    let warnings = repaired["warnings"].to_string();
    assert!(warnings.contains(&ui), "{warnings}");
    let listed = world.sims.lever.webhooks(ACME);
    assert_eq!(
        listed.len(),
        lever_plugin::store::WEBHOOK_EVENTS.len() + 1,
        "the UI-made webhook is left alone"
    );
    assert!(listed.iter().all(|w| w["url"] == url.as_str()));

    // The recreated webhook's new signature token is the one the connector verifies with.
    world.sims.lever.enable_webhooks(ACME, &[]);
    let delivery = world.signed(
        "candidateDeleted",
        json!({ "opportunityId": ADA, "contactId": ADA_CONTACT }),
    );
    let response = world.post(&delivery).await;
    assert_eq!(response.status, 200, "{}", response.text());
    // The UI-made duplicate's deliveries cannot be verified.
    let ui_delivery = lever_host::signing::lever_delivery(
        "ui-made-token",
        "candidateStageChange",
        json!({ "opportunityId": ADA, "toStageId": ONSITE }),
        lever_host::http_util::now_ms(),
        &lever_host::signing::random_token(48),
    );
    assert_eq!(world.post(&ui_delivery).await.status, 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn disconnect_refuses_deliveries_and_reconnecting_works() {
    let world = World::start().await;
    world.set_up_globex().await;
    let delivery = world.ada_moved(ONSITE);
    let disconnected = world.ok("DELETE", "/connections/acme", None).await;
    assert_eq!(
        disconnected["disconnected"]["removedWebhooks"]
            .as_array()
            .unwrap()
            .len(),
        lever_plugin::store::WEBHOOK_EVENTS.len()
    );
    assert_eq!(disconnected["disconnected"]["purged"], false);
    assert!(world.sims.lever.webhooks(ACME).is_empty());
    assert_eq!(
        world.sims.lever.webhooks(GLOBEX).len(),
        lever_plugin::store::WEBHOOK_EVENTS.len(),
        "globex is untouched"
    );

    let refused = world.post(&delivery).await;
    assert_eq!(refused.status, 401, "{}", refused.text());
    let calls = world
        .call("GET", "/connections/acme/lever/stages", None)
        .await;
    assert_eq!(calls.status, 503);
    assert_eq!(error_code(&calls).0, "not-configured");
    let status = world.ok("GET", "/connections/acme", None).await;
    assert_eq!(status["auth"], "none");
    assert_eq!(
        status["mappedStages"].as_array().unwrap().len(),
        3,
        "kept without purge"
    );
    assert!(world.partner_events().is_empty());

    // Reconnecting works; the kept link and map apply again.
    world
        .ok(
            "POST",
            "/connections/acme/api-key",
            Some(json!({ "apiKey": DEFAULT_API_KEY })),
        )
        .await;
    world.install("acme", ACME).await;
    let response = world.post(&world.ada_moved(ONSITE)).await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        response.json()["forwarded"]["partnerCandidateId"],
        "cand-ada"
    );

    // Purge drops links and maps too; Globex still works.
    let purged = world
        .ok("DELETE", "/connections/acme?purge=true", None)
        .await;
    assert_eq!(purged["disconnected"]["purged"], true);
    assert_eq!(
        world.ok("GET", "/connections/acme/stage-map", None).await,
        json!({})
    );
    assert_eq!(
        world
            .call("GET", "/connections/acme/candidates/cand-ada/link", None)
            .await
            .status,
        404
    );
    assert_eq!(
        world.ok("GET", "/connections/globex", None).await["auth"],
        "api-key"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_claim_left_processing_by_a_stopped_instance_is_redone_after_its_lease() {
    let world = World::bare_on(
        runtime().with_request_timeout(Duration::from_secs(1)),
        |_| {},
    )
    .await;
    world.set_up_acme().await;
    let delivery = world.ada_moved(ONSITE);
    // The partner hangs; the host stops the instance mid-flow, its claim left "processing".
    world.sims.partner.slow_next(1, Duration::from_secs(3));
    let stopped = world.post(&delivery).await;
    assert_eq!(stopped.status, 504, "{}", stopped.text());
    // Lever retries at once: the claim still holds.
    let soon = world.post(&delivery).await;
    assert_eq!(soon.json()["duplicate"], "processing", "{}", soon.text());
    // After the lease (60 s) a retry takes the claim over and does the work.
    world.connector.advance_clock(Duration::from_secs(61));
    let redone = world.post(&delivery).await;
    assert_eq!(redone.status, 200, "{}", redone.text());
    assert_eq!(redone.json()["forwarded"]["partnerCandidateId"], "cand-ada");
    let answered: Vec<u16> = world
        .sims
        .partner
        .received()
        .iter()
        .map(|e| e.answered)
        .collect();
    assert!(answered.len() >= 2, "{answered:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn setup_lists_come_from_the_connections_own_lever_account() {
    let world = World::start().await;
    world.set_up_globex().await;
    let stages = world
        .ok("GET", "/connections/acme/lever/stages", None)
        .await;
    let ids: Vec<&str> = stages["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.first(), Some(&"lead-new"));
    assert_eq!(ids.last(), Some(&OFFER), "pipeline order");
    let postings = world
        .ok("GET", "/connections/acme/lever/postings", None)
        .await;
    assert_eq!(postings["data"].as_array().unwrap().len(), 3);
    let closed = world
        .ok("GET", "/connections/acme/lever/postings?state=closed", None)
        .await;
    assert_eq!(closed["data"].as_array().unwrap().len(), 1);
    assert_eq!(
        world
            .call("GET", "/connections/acme/lever/postings?state=bogus", None)
            .await
            .status,
        400
    );
    let globex_users = world
        .ok("GET", "/connections/globex/lever/users", None)
        .await;
    let names: Vec<&str> = globex_users["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Hedy Lamarr", "Claude Shannon"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn roles_need_a_real_posting_and_perform_as_an_active_user() {
    let world = World::start().await;
    let unknown = world
        .call(
            "PUT",
            "/connections/acme/roles/role-x",
            Some(json!({ "postingId": "no-such-posting" })),
        )
        .await;
    assert_eq!(unknown.status, 404);
    assert!(error_code(&unknown).1.contains("no-such-posting"));
    // Globex's posting is not Acme's.
    let foreign = world
        .call(
            "PUT",
            "/connections/acme/roles/role-x",
            Some(json!({ "postingId": "globex-posting-1" })),
        )
        .await;
    assert_eq!(foreign.status, 404);
    world
        .ok(
            "PUT",
            "/connections/acme/roles/role%20one",
            Some(json!({ "postingId": RUST_POSTING })),
        )
        .await;
    assert_eq!(
        world.ok("GET", "/connections/acme/roles", None).await,
        json!({ "data": [{ "role": "role one", "postingId": RUST_POSTING }] })
    );
    world
        .ok("DELETE", "/connections/acme/roles/role%20one", None)
        .await;
    assert_eq!(
        world
            .call("DELETE", "/connections/acme/roles/role%20one", None)
            .await
            .status,
        404
    );

    let deactivated = world
        .call(
            "PUT",
            "/connections/acme/perform-as",
            Some(json!({ "userId": "user-0002" })),
        )
        .await;
    assert_eq!(deactivated.status, 400);
    assert!(error_code(&deactivated).1.contains("deactivated"));
    let unknown = world
        .call(
            "PUT",
            "/connections/acme/perform-as",
            Some(json!({ "userId": "nobody" })),
        )
        .await;
    assert_eq!(unknown.status, 404);
    let chosen = world
        .ok(
            "PUT",
            "/connections/acme/perform-as",
            Some(json!({ "userId": RECRUITER })),
        )
        .await;
    assert_eq!(chosen["performAs"]["name"], "Grace Hopper");
    let missing_stage = world
        .call(
            "PUT",
            "/connections/acme/upload-stage",
            Some(json!({ "stageId": "no-such-stage" })),
        )
        .await;
    assert_eq!(missing_stage.status, 404);
}
