//! The simulators behave like Lever and like a careful partner.

use lever_host::http_util::{bind_loopback, ClientResponse, HttpClient};
use lever_host::sim::lever::{oauth, ACME, GLOBEX};
use lever_host::sim::{LeverSimOptions, Simulators};

use crate::harness::simulators;
use serde_json::json;

const KEY: &str = "Basic c2ltLWFwaS1rZXk6"; // base64("sim-api-key:")
const GLOBEX_KEY: &str = "Basic c2ltLWFwaS1rZXktZ2xvYmV4Og=="; // base64("sim-api-key-globex:")

/// An OAuth grant for `account` through the simulator's authorize and token endpoints:
/// `(token response, authorize redirect)`.
async fn oauth_tokens(sims: &Simulators, account: &str, scope: &str) -> serde_json::Value {
    let client = HttpClient::default();
    let mut authorize = url::Url::parse(&format!("{}/authorize", sims.lever_auth_base())).unwrap();
    authorize
        .query_pairs_mut()
        .append_pair("client_id", oauth::CLIENT_ID)
        .append_pair("redirect_uri", "http://127.0.0.1:9/cb")
        .append_pair("response_type", "code")
        .append_pair("state", "s1")
        .append_pair("audience", &format!("{}/", sims.lever_api_base()))
        .append_pair("scope", scope)
        .append_pair("account", account);
    let consent = client.get(authorize.as_str(), &[]).await.unwrap();
    assert_eq!(consent.status, 302, "{}", consent.text());
    let location = url::Url::parse(&consent.headers["location"]).unwrap();
    let query: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(query["state"], "s1");
    let form = format!(
        "grant_type=authorization_code&client_id={}&client_secret={}&code={}&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb",
        oauth::CLIENT_ID,
        oauth::CLIENT_SECRET,
        query["code"]
    );
    let token = client
        .send(
            "POST",
            &format!("{}/oauth/token", sims.lever_auth_base()),
            &[("content-type", "application/x-www-form-urlencoded")],
            form,
        )
        .await
        .unwrap();
    assert_eq!(token.status, 200, "{}", token.text());
    token.json()
}

async fn get(sims: &Simulators, path: &str, auth: &str) -> ClientResponse {
    HttpClient::default()
        .get(
            &format!("{}{path}", sims.lever_api_base()),
            &[("authorization", auth)],
        )
        .await
        .unwrap()
}

async fn post(sims: &Simulators, path: &str, body: serde_json::Value) -> ClientResponse {
    HttpClient::default()
        .post_json(
            &format!("{}{path}", sims.lever_api_base()),
            &[("authorization", KEY)],
            &body,
        )
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn lever_requires_a_valid_api_key_or_bearer_token() {
    let sims = simulators(LeverSimOptions::default()).await;
    let denied = get(&sims, "/stages", "Basic d3Jvbmc6").await;
    assert_eq!(denied.status, 401);
    assert!(denied.json()["code"].is_string() && denied.json()["message"].is_string());
    assert_eq!(get(&sims, "/stages", KEY).await.status, 200);
    let tokens = oauth_tokens(&sims, ACME, "offline_access stages:read:admin").await;
    let bearer = format!("Bearer {}", tokens["access_token"].as_str().unwrap());
    assert_eq!(get(&sims, "/stages", &bearer).await.status, 200);
    let missing = get(&sims, "/opportunities/nope", KEY).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["code"], "ResourceNotFound");
}

#[tokio::test(flavor = "multi_thread")]
async fn creating_an_opportunity_requires_perform_as() {
    let sims = simulators(LeverSimOptions::default()).await;
    let response = post(&sims, "/opportunities", json!({ "name": "X" })).await;
    assert_eq!(response.status, 400);
    assert!(response.json()["message"]
        .as_str()
        .unwrap()
        .contains("perform_as"));
    // A deactivated user cannot act either.
    let response = post(
        &sims,
        "/opportunities?perform_as=user-0002",
        json!({ "name": "X" }),
    )
    .await;
    assert_eq!(response.status, 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_email_dedupes_onto_the_existing_contact_and_postings_add_tags() {
    let sims = simulators(LeverSimOptions::default()).await;
    let response = post(
        &sims,
        "/opportunities?perform_as=user-0001",
        json!({ "name": "Ada Again", "emails": ["ada@example.com"], "postings": ["f2f01e16-27f8-4711-a728-7d49499795a0"], "tags": ["partner"] }),
    )
    .await;
    assert_eq!(response.status, 201, "{}", response.text());
    let body = response.json();
    assert_eq!(body["deduped"], true);
    assert_eq!(
        body["data"]["contact"],
        "d4f29dcb-7fdb-4a3e-9e0d-1b6a0c9c2c11"
    );
    assert_ne!(body["data"]["id"], "250d8f03-738a-4bba-a671-8a3d73477145");
    assert_eq!(body["data"]["stage"], "lead-new");
    let tags = body["data"]["tags"].as_array().unwrap();
    assert_eq!(tags[0], "partner");
    assert!(tags.contains(&json!("Senior Rust Engineer")) && tags.contains(&json!("Engineering")));
    assert_eq!(body["data"]["applications"].as_array().unwrap().len(), 1);
    let two = post(
        &sims,
        "/opportunities?perform_as=user-0001",
        json!({ "name": "Y", "postings": ["f2f01e16-27f8-4711-a728-7d49499795a0", "5c3a7f3e-0b7a-4d0e-9a51-3e1f3b8d2a77"] }),
    )
    .await;
    assert_eq!(two.status, 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn lists_paginate_with_opaque_next_tokens_and_hide_deactivated_users() {
    let sims = simulators(LeverSimOptions::default()).await;
    let first = get(&sims, "/postings?limit=1", KEY).await.json();
    assert_eq!(first["data"].as_array().unwrap().len(), 1);
    assert_eq!(first["hasNext"], true);
    let next = first["next"].as_str().unwrap();
    let second = get(&sims, &format!("/postings?limit=2&offset={next}"), KEY)
        .await
        .json();
    assert_eq!(second["data"].as_array().unwrap().len(), 2);
    assert_eq!(second["hasNext"], false);
    assert!(second.get("next").is_none());
    assert_ne!(first["data"][0]["id"], second["data"][0]["id"]);
    let closed = get(&sims, "/postings?state=closed", KEY).await.json();
    assert_eq!(closed["data"].as_array().unwrap().len(), 1);
    assert_eq!(closed["data"][0]["state"], "closed");
    assert_eq!(get(&sims, "/postings?limit=101", KEY).await.status, 400);

    let users = get(&sims, "/users", KEY).await.json();
    assert_eq!(users["data"].as_array().unwrap().len(), 1);
    let all = get(&sims, "/users?includeDeactivated=true", KEY)
        .await
        .json();
    assert_eq!(all["data"].as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn over_the_rate_limit_lever_answers_429_sometimes_with_retry_after() {
    let sims = simulators(LeverSimOptions {
        rate_per_sec: 0.01,
        burst: 2.0,
        ..LeverSimOptions::default()
    })
    .await;
    assert_eq!(get(&sims, "/stages", KEY).await.status, 200);
    assert_eq!(get(&sims, "/stages", KEY).await.status, 200);
    let first = get(&sims, "/stages", KEY).await;
    let second = get(&sims, "/stages", KEY).await;
    assert_eq!((first.status, second.status), (429, 429));
    assert!(first.headers.contains_key("retry-after"));
    assert!(!second.headers.contains_key("retry-after"));
    assert_eq!(first.json()["code"], "TooManyRequestsError");
    // Another credential has its own bucket.
    assert_eq!(get(&sims, "/stages", GLOBEX_KEY).await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_signature_token_is_returned_only_when_the_webhook_is_created() {
    let sims = simulators(LeverSimOptions::default()).await;
    let created = post(
        &sims,
        "/webhooks",
        json!({ "event": "candidateStageChange", "url": "http://127.0.0.1:9/x" }),
    )
    .await;
    assert_eq!(created.status, 201);
    let token = created.json()["data"]["configuration"]["signatureToken"].clone();
    assert!(token.as_str().is_some_and(|t| t.len() >= 32));
    let listed = get(&sims, "/webhooks", KEY).await.json();
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    assert!(listed["data"][0]["configuration"]
        .get("signatureToken")
        .is_none());
    let bad = post(
        &sims,
        "/webhooks",
        json!({ "event": "postingCreated", "url": "http://127.0.0.1:9/x" }),
    )
    .await;
    assert_eq!(bad.status, 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn lever_deliveries_are_signed_and_retried_with_a_new_token() {
    let sims = simulators(LeverSimOptions::default()).await;
    // A receiver that fails the first delivery.
    let listener = bind_loopback(None).await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    let _server = lever_host::http_util::serve(listener, move |request| {
        let record = record.clone();
        async move {
            let mut seen = record.lock().unwrap();
            seen.push(serde_json::from_slice::<serde_json::Value>(&request.body).unwrap());
            lever_host::http_util::SimResponse::empty(if seen.len() == 1 { 500 } else { 200 })
        }
    });
    sims.lever
        .add_webhook(ACME, "candidateStageChange", &url, "tok");
    let mut deliveries = sims.lever.subscribe();
    HttpClient::default()
        .post_json(
            &format!(
                "http://{}/_sim/opportunities/250d8f03-738a-4bba-a671-8a3d73477145/stage",
                sims.lever_addr
            ),
            &[],
            &json!({ "stage": "9f1c2a23-offer" }),
        )
        .await
        .unwrap();
    let first = deliveries.recv().await.unwrap();
    let second = deliveries.recv().await.unwrap();
    assert_eq!((first.status, second.status), (Some(500), Some(200)));
    let seen = seen.lock().unwrap().clone();
    assert_ne!(seen[0]["token"], seen[1]["token"]);
    for body in &seen {
        let expected = lever_host::signing::lever_signature(
            "tok",
            body["token"].as_str().unwrap(),
            body["triggeredAt"].as_u64().unwrap(),
        );
        assert_eq!(body["signature"], expected.as_str());
        assert_eq!(body["data"]["toStageId"], "9f1c2a23-offer");
        assert_eq!(body["data"]["fromStageId"], "9f1c2a22-onsite");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_partner_rejects_unsigned_callbacks() {
    let sims = simulators(LeverSimOptions::default()).await;
    let response = HttpClient::default()
        .post_json(
            &sims.partner_callback_url(),
            &[("webhook-id", "evt_1"), ("webhook-timestamp", "1")],
            &json!({}),
        )
        .await
        .unwrap();
    assert_eq!(response.status, 401);
    let received = sims.partner.received();
    assert_eq!(received.len(), 1);
    assert!(!received[0].verified);
}

#[tokio::test(flavor = "multi_thread")]
async fn each_credential_sees_only_its_own_account() {
    let sims = simulators(LeverSimOptions::default()).await;
    let ada = "/opportunities/250d8f03-738a-4bba-a671-8a3d73477145";
    let katherine = "/opportunities/6a1f0c2e-5b7d-4e8f-9a0b-katherine001";
    assert_eq!(get(&sims, ada, KEY).await.status, 200);
    assert_eq!(get(&sims, ada, GLOBEX_KEY).await.status, 404);
    assert_eq!(get(&sims, katherine, GLOBEX_KEY).await.status, 200);
    assert_eq!(get(&sims, katherine, KEY).await.status, 404);
    let acme_stages = get(&sims, "/stages", KEY).await.json();
    let globex_stages = get(&sims, "/stages", GLOBEX_KEY).await.json();
    assert_ne!(acme_stages, globex_stages);
    // Custom stages have UUID-like ids.
    assert!(globex_stages["data"][3]["id"]
        .as_str()
        .unwrap()
        .contains('-'));
    let tokens = oauth_tokens(&sims, GLOBEX, "opportunities:read:admin").await;
    let bearer = format!("Bearer {}", tokens["access_token"].as_str().unwrap());
    assert_eq!(get(&sims, katherine, &bearer).await.status, 200);
    assert_eq!(get(&sims, ada, &bearer).await.status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn oauth_issues_jwts_naming_the_account_and_rotates_refresh_tokens() {
    use base64::Engine as _;
    let sims = simulators(LeverSimOptions::default()).await;
    let tokens = oauth_tokens(&sims, GLOBEX, "offline_access stages:read:admin").await;
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 3600);
    let access = tokens["access_token"].as_str().unwrap();
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(access.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["https://oauth.lever.co/accountId"], GLOBEX);
    // Scopes are enforced: no users scope, 403.
    let bearer = format!("Bearer {access}");
    let forbidden = get(&sims, "/users", &bearer).await;
    assert_eq!(forbidden.status, 403, "{}", forbidden.text());

    let refresh = |token: &str| {
        format!(
            "grant_type=refresh_token&client_id={}&client_secret={}&refresh_token={token}",
            oauth::CLIENT_ID,
            oauth::CLIENT_SECRET
        )
    };
    let url = format!("{}/oauth/token", sims.lever_auth_base());
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let r1 = tokens["refresh_token"].as_str().unwrap();
    let next = HttpClient::default()
        .send("POST", &url, &form, refresh(r1))
        .await
        .unwrap();
    assert_eq!(next.status, 200);
    assert_ne!(next.json()["refresh_token"].as_str().unwrap(), r1);
    let reused = HttpClient::default()
        .send("POST", &url, &form, refresh(r1))
        .await
        .unwrap();
    assert_eq!(reused.json()["error"], "invalid_grant");
    assert_eq!(sims.lever.refreshes(), (1, 1));
}

#[tokio::test(flavor = "multi_thread")]
async fn api_created_webhooks_deliver_only_once_a_super_admin_enables_them() {
    let sims = simulators(LeverSimOptions::default()).await;
    let listener = bind_loopback(None).await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let _server = lever_host::http_util::serve(listener, |_| async {
        lever_host::http_util::SimResponse::empty(200)
    });
    let created = post(
        &sims,
        "/webhooks",
        json!({ "event": "candidateStageChange", "url": url }),
    )
    .await;
    assert_eq!(created.status, 201);
    let id = created.json()["data"]["id"].as_str().unwrap().to_string();
    // Before enablement a change delivers nothing (the simulator decides when the change
    // happens, so nothing can arrive later either).
    sims.lever
        .move_stage("250d8f03-738a-4bba-a671-8a3d73477145", "9f1c2a23-offer");

    let mut deliveries = sims.lever.subscribe();
    sims.lever.enable_webhooks(ACME, &["candidateStageChange"]);
    sims.lever
        .move_stage("250d8f03-738a-4bba-a671-8a3d73477145", "9f1c2a21-phone");
    let delivery = deliveries.recv().await.unwrap();
    assert_eq!(delivery.status, Some(200));
    assert_eq!(delivery.webhook_id, id);
    assert_eq!(
        sims.lever.deliveries().len(),
        1,
        "delivered before enablement"
    );

    // The batch PUT repairs a URL; DELETE answers 204.
    let put = HttpClient::default()
        .send(
            "PUT",
            &format!("{}/webhooks", sims.lever_api_base()),
            &[("authorization", KEY), ("content-type", "application/json")],
            json!({ "data": [{ "id": id, "url": "http://127.0.0.1:9/new" }] }).to_string(),
        )
        .await
        .unwrap();
    assert_eq!(put.status, 200, "{}", put.text());
    assert_eq!(put.json()["data"][0]["url"], "http://127.0.0.1:9/new");
    let deleted = HttpClient::default()
        .send(
            "DELETE",
            &format!("{}/webhooks/{id}", sims.lever_api_base()),
            &[("authorization", KEY)],
            "",
        )
        .await
        .unwrap();
    assert_eq!(deleted.status, 204);
    assert!(get(&sims, "/webhooks", KEY).await.json()["data"]
        .as_array()
        .unwrap()
        .is_empty());
}
