//! The simulators behave like Lever and like a careful partner.

use lever_host::http_util::{bind_loopback, ClientResponse, HttpClient};
use lever_host::sim::{LeverSimOptions, Simulators};

use crate::harness::simulators;
use serde_json::json;

const KEY: &str = "Basic c2ltLWFwaS1rZXk6"; // base64("sim-api-key:")

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
    assert_eq!(
        get(&sims, "/stages", "Bearer sim-access-token")
            .await
            .status,
        200
    );
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
    let second = get(&sims, &format!("/postings?limit=1&offset={next}"), KEY)
        .await
        .json();
    assert_eq!(second["data"].as_array().unwrap().len(), 1);
    assert_eq!(second["hasNext"], false);
    assert!(second.get("next").is_none());
    assert_ne!(first["data"][0]["id"], second["data"][0]["id"]);
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
    assert_eq!(
        get(&sims, "/stages", "Bearer sim-access-token")
            .await
            .status,
        200
    );
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
    sims.lever.add_webhook("candidateStageChange", &url, "tok");
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
