//! Every kind of bad delivery gets a clear JSON answer with the right status, and nothing
//! reaches the partner.

use serde_json::json;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread")]
async fn wrong_signature_is_rejected_with_401() {
    let world = World::start().await;
    let mut delivery = world.ada_moved(ONSITE);
    delivery["signature"] = json!("0".repeat(64));
    let response = world.post(&delivery).await;
    assert_eq!(response.status, 401);
    assert_eq!(error_code(&response).0, "unauthorized");
    assert!(world.sims.partner.received().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_signature_is_rejected_with_401() {
    let world = World::start().await;
    let mut delivery = world.ada_moved(ONSITE);
    delivery.as_object_mut().unwrap().remove("signature");
    let response = world.post(&delivery).await;
    assert_eq!(response.status, 401);
    assert_eq!(
        error_code(&response),
        (
            "unauthorized".into(),
            "unauthorized: the delivery is not signed".into()
        )
    );
    assert!(world.sims.partner.received().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn stale_triggered_at_is_rejected_with_401() {
    // Correctly signed, but triggered ten minutes ago.
    let world = World::start().await;
    let stale = world.signed_at(
        lever_host::sim::lever::ACME,
        "candidateStageChange",
        json!({ "opportunityId": ADA, "toStageId": ONSITE }),
        lever_host::http_util::now_ms() - 10 * 60 * 1000,
    );
    let response = world.post(&stale).await;
    assert_eq!(response.status, 401);
    let (code, message) = error_code(&response);
    assert_eq!(code, "unauthorized");
    assert!(message.contains("triggeredAt"), "{message}");
    assert!(world.sims.partner.received().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wider_freshness_window_is_configurable() {
    let world = World::start_with(|settings| {
        settings
            .connector
            .insert("lever_webhook_max_age_secs".into(), "3600".into());
    })
    .await;
    let mut delivery = world.ada_moved(ONSITE);
    let triggered = lever_host::http_util::now_ms() - 30 * 60 * 1000;
    let token = delivery["token"].as_str().unwrap().to_string();
    let signature_token = world
        .sims
        .lever
        .signature_token(lever_host::sim::lever::ACME, "candidateStageChange")
        .unwrap();
    delivery = lever_host::signing::lever_delivery(
        &signature_token,
        "candidateStageChange",
        delivery["data"].clone(),
        triggered,
        &token,
    );
    assert_eq!(world.post(&delivery).await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_json_is_rejected_with_400() {
    let world = World::start().await;
    let response = world
        .post_raw("acme", "{\"event\": \"candidateStageChange\",")
        .await;
    assert_eq!(response.status, 400);
    assert_eq!(error_code(&response).0, "invalid-input");
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_fields_are_rejected_with_400() {
    let world = World::start().await;
    let mut no_token = world.ada_moved(ONSITE);
    no_token.as_object_mut().unwrap().remove("token");
    let response = world.post(&no_token).await;
    assert_eq!(response.status, 400);
    assert!(error_code(&response).1.contains("token"));

    // Signed correctly, but the stage change names no opportunity.
    let no_opportunity = world.signed("candidateStageChange", json!({ "toStageId": ONSITE }));
    let response = world.post(&no_opportunity).await;
    assert_eq!(response.status, 400, "{}", response.text());
    assert!(world.sims.partner.received().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn body_over_one_mebibyte_is_rejected_with_413() {
    let world = World::start().await;
    let mut delivery = world.ada_moved(ONSITE);
    delivery["data"]["padding"] = json!("x".repeat(1024 * 1024));
    let response = world.post(&delivery).await;
    assert_eq!(response.status, 413);
    assert_eq!(error_code(&response).0, "too-large");
    assert!(world.sims.partner.received().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_sends_its_whole_oversized_body_before_reading_still_gets_the_413() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let world = World::start().await;
    let url = url::Url::parse(&world.webhook_url("acme")).unwrap();
    let mut stream = tokio::net::TcpStream::connect((url.host_str().unwrap(), url.port().unwrap()))
        .await
        .unwrap();
    // As Python's urllib does: the whole request first (8 MiB, far past the socket buffers),
    // and only then the answer.
    let body = vec![b'x'; 8 * 1024 * 1024];
    let head = format!(
        "POST {} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        url.path(),
        url.authority(),
        body.len()
    );
    let mut request = head.into_bytes();
    request.extend_from_slice(&body);
    tokio::time::timeout(WAIT, stream.write_all(&request))
        .await
        .expect("the server reads the body it refused")
        .expect("the connection stays open while the client sends");
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(WAIT, stream.read(&mut chunk))
            .await
            .unwrap()
            .expect("the answer is readable");
        answer.extend_from_slice(&chunk[..n]);
        if n == 0 || String::from_utf8_lossy(&answer).contains("too-large") {
            break;
        }
    }
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("too-large"), "{text}");
    assert!(world.sims.partner.received().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_event_is_acknowledged_as_ignored() {
    let world = World::start().await;
    let response = world
        .post(&world.signed("candidateTeleported", json!({ "opportunityId": ADA })))
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(response.json()["ignored"], "candidateTeleported");
    assert_eq!(response.json()["connectionId"], "acme");
    assert!(world.sims.partner.received().is_empty());

    // Lever's test ping (candidateHired with empty data) is acknowledged too, and so is
    // an event the connector does not act on.
    let response = world.post(&world.signed("candidateHired", json!({}))).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.json()["skipped"]["reason"], "ping");
    let response = world
        .post(&world.signed("contactCreated", json!({ "contactId": ADA_CONTACT })))
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(response.json()["ignored"], "contactCreated");
    assert!(world.sims.partner.received().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_event_with_a_forged_signature_is_still_rejected() {
    let world = World::start().await;
    let mut delivery = world.signed("candidateTeleported", json!({}));
    delivery["signature"] = json!("f".repeat(64));
    assert_eq!(world.post(&delivery).await.status, 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicate_token_is_acknowledged_without_a_second_partner_call() {
    let world = World::start().await;
    let delivery = world.ada_moved(ONSITE);
    assert_eq!(world.post(&delivery).await.status, 200);
    let again = world.post(&delivery).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.json()["duplicate"], "forwarded");
    assert_eq!(again.json()["token"], delivery["token"]);
    assert_eq!(world.sims.partner.received().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_replays_of_one_delivery_reach_the_partner_once() {
    let world = World::start().await;
    let delivery = world.ada_moved(ONSITE);
    let posts = (0..8).map(|_| world.post(&delivery));
    let answers = futures::future::join_all(posts).await;
    let forwarded = answers
        .iter()
        .filter(|a| a.json().get("forwarded").is_some())
        .count();
    let duplicates = answers
        .iter()
        .filter(|a| a.json().get("duplicate").is_some())
        .count();
    assert_eq!(
        (forwarded, duplicates),
        (1, 7),
        "{:?}",
        answers.iter().map(|a| a.text()).collect::<Vec<_>>()
    );
    assert_eq!(world.sims.partner.received().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_configuration_is_503_naming_the_key() {
    let world = World::start_with(|settings| {
        settings.connector.remove("partner_callback_url");
    })
    .await;
    let response = world.post(&world.ada_moved(ONSITE)).await;
    assert_eq!(response.status, 503);
    let body = response.json();
    assert_eq!(body["error"]["code"], "not-configured");
    assert_eq!(body["error"]["key"], "partner_callback_url");

    let world = World::bare_with(|settings| {
        settings.connector.remove("encryption_key");
    })
    .await;
    let response = world
        .call(
            "POST",
            "/connections/acme/api-key",
            Some(json!({ "apiKey": lever_host::sim::lever::DEFAULT_API_KEY })),
        )
        .await;
    assert_eq!(response.status, 503);
    assert_eq!(response.json()["error"]["key"], "encryption_key");

    let world = World::bare_with(|settings| {
        settings.connector.remove("partner_api_key");
    })
    .await;
    let response = world.call("GET", "/connections/acme", None).await;
    assert_eq!(response.status, 503);
    assert_eq!(response.json()["error"]["key"], "partner_api_key");
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_opportunity_is_recorded_as_skipped() {
    let world = World::start().await;
    let delivery = world.signed(
        "candidateStageChange",
        json!({ "opportunityId": "00000000-0000-4000-a000-000000000000", "toStageId": ONSITE }),
    );
    let response = world.post(&delivery).await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.json()["skipped"],
        json!({ "reason": "opportunity-not-in-lever", "opportunityId": "00000000-0000-4000-a000-000000000000" })
    );
    // Recorded: the same delivery again is known.
    assert_eq!(world.post(&delivery).await.json()["duplicate"], "skipped");
    assert!(world.sims.partner.received().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_opportunity_not_linked_to_the_partner_is_skipped() {
    let world = World::start().await;
    let created = world
        .client
        .post_json(
            &format!(
                "{}/opportunities?perform_as={RECRUITER}",
                world.sims.lever_api_base()
            ),
            &[("authorization", "Basic c2ltLWFwaS1rZXk6")],
            &json!({ "name": "Not From The Partner", "stage": ONSITE }),
        )
        .await
        .unwrap();
    assert_eq!(created.status, 201, "{}", created.text());
    let id = created.json()["data"]["id"].as_str().unwrap().to_string();
    let response = world
        .post(&world.signed(
            "candidateStageChange",
            json!({ "opportunityId": id, "toStageId": ONSITE }),
        ))
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(response.json()["skipped"]["reason"], "not-linked");
    assert_eq!(response.json()["skipped"]["opportunityId"], id.as_str());
    assert!(world.sims.partner.received().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn outbound_requests_to_hosts_not_in_the_configuration_are_refused() {
    let world = World::start_with(|settings| {
        let partner = settings
            .connector
            .get("partner_callback_url")
            .unwrap()
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap()
            .to_string();
        settings.allowed_outbound.remove(&partner);
    })
    .await;
    let response = world.post(&world.ada_moved(ONSITE)).await;
    assert_eq!(response.status, 202, "{}", response.text());
    assert!(
        response.json()["queued"]["lastError"]
            .as_str()
            .unwrap()
            .contains("refused"),
        "{}",
        response.text()
    );
    assert!(world.sims.partner.received().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_routes_and_methods_get_json_errors() {
    let world = World::start().await;
    let missing = world
        .client
        .get(&format!("{}/nope", world.served.url()), &[])
        .await
        .unwrap();
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["error"]["code"], "not-found");
    let wrong_method = world
        .client
        .get(&world.webhook_url("acme"), &[])
        .await
        .unwrap();
    assert_eq!(wrong_method.status, 405);
    assert_eq!(
        wrong_method.headers.get("allow").map(String::as_str),
        Some("POST")
    );
    let health = world
        .client
        .get(&format!("{}/health", world.served.url()), &[])
        .await
        .unwrap();
    assert_eq!(health.status, 200);
}
