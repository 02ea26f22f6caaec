//! Serving from a configuration file: persistence, encryption at rest, the typed face and
//! `lever-host call`.

use lever_host::http_util::{bind_loopback, HttpClient};
use lever_host::partner_api::PartnerApi;
use lever_host::server::Connector;
use lever_host::settings::Settings;
use lever_host::sim::lever::{ACME, DEFAULT_API_KEY};
use lever_host::sim::{partner, LeverSimOptions, Simulators};
use serde_json::json;

use crate::harness::*;

const ENCRYPTION_KEY: &str = "mB2rM2bzQq0ZQm0S0f7Qyq1m6m3m0rWcX1o8b2y4x9A=";

fn config_file(sims: &Simulators, public: &str) -> String {
    format!(
        r#"
[host]
kv_path = "kv.sqlite"

[connector]
lever_api_base = "{}"
lever_auth_base = "{}"
oauth_client_id = "{}"
public_base_url = "{public}"
partner_callback_url = "{}"
"#,
        sims.lever_api_base(),
        sims.lever_auth_base(),
        lever_host::sim::lever::oauth::CLIENT_ID,
        sims.partner_callback_url(),
    )
}

fn secrets() -> Vec<(String, String)> {
    vec![
        (
            "LEVER_CONNECTOR_ENCRYPTION_KEY".into(),
            ENCRYPTION_KEY.into(),
        ),
        (
            "LEVER_CONNECTOR_OAUTH_CLIENT_SECRET".into(),
            lever_host::sim::lever::oauth::CLIENT_SECRET.into(),
        ),
        (
            "LEVER_CONNECTOR_PARTNER_WEBHOOK_SECRET".into(),
            partner::DEFAULT_SECRET.into(),
        ),
        (
            "LEVER_CONNECTOR_PARTNER_API_KEY".into(),
            partner::DEFAULT_API_KEY.into(),
        ),
    ]
}

fn sqlite_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for name in ["kv.sqlite", "kv.sqlite-wal"] {
        if let Ok(more) = std::fs::read(dir.join(name)) {
            bytes.extend(more);
        }
    }
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread")]
async fn connections_and_deliveries_survive_a_restart_and_no_secret_is_stored_in_plaintext() {
    let sims = simulators(LeverSimOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lever-host.toml");
    let listener = bind_loopback(None).await.unwrap();
    let public = format!("http://{}", listener.local_addr().unwrap());
    std::fs::write(&path, config_file(&sims, &public)).unwrap();
    let partner_api = PartnerApi::new(&public, partner::DEFAULT_API_KEY);
    let client = HttpClient::default();
    let signature_token;
    let delivery;
    {
        let settings = Settings::load(&path, secrets()).unwrap();
        let connector = Connector::new(runtime(), &settings).unwrap();
        let _served = connector.spawn(listener).unwrap();
        partner_api
            .ok(
                "POST",
                "/connections/acme/api-key",
                Some(json!({ "apiKey": DEFAULT_API_KEY })),
            )
            .await
            .unwrap();
        partner_api
            .ok("POST", "/connections/acme/webhooks", None)
            .await
            .unwrap();
        partner_api
            .ok("PUT", "/connections/acme/stage-map", Some(acme_stage_map()))
            .await
            .unwrap();
        partner_api
            .ok(
                "PUT",
                "/connections/acme/candidates/cand-ada/link",
                Some(json!({ "opportunityId": ADA })),
            )
            .await
            .unwrap();
        signature_token = sims
            .lever
            .signature_token(ACME, "candidateStageChange")
            .unwrap();
        delivery = lever_host::signing::lever_delivery(
            &signature_token,
            "candidateStageChange",
            json!({ "opportunityId": ADA, "toStageId": ONSITE }),
            lever_host::http_util::now_ms(),
            &lever_host::signing::random_token(48),
        );
        let answer = client
            .post_json(&format!("{public}/webhooks/lever/acme"), &[], &delivery)
            .await
            .unwrap();
        assert_eq!(answer.status, 200, "{}", answer.text());
    }
    let stored = sqlite_bytes(dir.path());
    assert!(!stored.is_empty());
    assert!(
        contains(&stored, "conn/acme/auth"),
        "the connection is in the file"
    );
    for secret in [DEFAULT_API_KEY, signature_token.as_str(), ENCRYPTION_KEY] {
        assert!(
            !contains(&stored, secret),
            "{secret} is readable in the SQLite file"
        );
    }

    let settings = Settings::load(&path, secrets()).unwrap();
    let connector = Connector::new(runtime(), &settings).unwrap();
    let served = connector.spawn(bind_loopback(None).await.unwrap()).unwrap();
    let again = client
        .post_json(
            &format!("{}/webhooks/lever/acme", served.url()),
            &[],
            &delivery,
        )
        .await
        .unwrap();
    assert_eq!(again.json()["duplicate"], "forwarded", "{}", again.text());
    assert_eq!(sims.partner.received().len(), 1);
    let status = connector.status("acme").await.unwrap().unwrap();
    assert_eq!(
        status.auth,
        lever_host::runtime::bindings::exports::lever::connector::setup::AuthKind::ApiKey
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn status_lists_what_is_missing_then_what_is_set() {
    let world = World::bare().await;
    let status = world.ok("GET", "/connections/acme", None).await;
    assert_eq!(status["auth"], "none");
    let missing: Vec<&str> = status["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    for step in [
        "connect Lever",
        "perform_as",
        "role",
        "map Lever stages",
        "webhooks",
    ] {
        assert!(
            missing.iter().any(|m| m.contains(step)),
            "{step} not in {missing:?}"
        );
    }

    world.set_up_acme().await;
    world
        .ok(
            "PUT",
            "/connections/acme/perform-as",
            Some(json!({ "userId": RECRUITER })),
        )
        .await;
    world
        .ok(
            "PUT",
            "/connections/acme/roles/role-rust",
            Some(json!({ "postingId": RUST_POSTING })),
        )
        .await;
    let status = world.ok("GET", "/connections/acme", None).await;
    assert_eq!(status["auth"], "api-key");
    assert_eq!(status["performAs"], RECRUITER);
    assert_eq!(status["missing"], json!([]), "{status}");
    assert_eq!(
        status["roles"],
        json!([{ "role": "role-rust", "postingId": RUST_POSTING }])
    );
    assert_eq!(status["mappedStages"].as_array().unwrap().len(), 3);
    assert_eq!(status["mappedStages"][2]["text"], "Offer");
    // 8 Lever stages, 3 mapped.
    assert_eq!(status["unmappedStages"].as_array().unwrap().len(), 5);
    assert_eq!(
        status["uploadStage"],
        json!({ "stageId": "9f1c2a20-screen", "text": "Recruiter screen", "source": "default" })
    );
    let webhooks = status["webhooks"].as_array().unwrap();
    assert_eq!(webhooks.len(), lever_plugin::store::WEBHOOK_EVENTS.len());
    assert!(
        webhooks.iter().all(|w| w["state"] == "awaiting-enablement"),
        "{webhooks:?}"
    );

    // The first verified delivery of an event shows that it is enabled.
    let response = world.post(&world.ada_moved(ONSITE)).await;
    assert_eq!(response.status, 200);
    let status = world.ok("GET", "/connections/acme", None).await;
    let stage_change = status["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["event"] == "candidateStageChange")
        .unwrap()
        .clone();
    assert_eq!(stage_change["state"], "receiving");
    assert!(stage_change["lastDeliveryAt"].as_u64().is_some());

    // Choosing the upload stage overrides the default rule.
    world
        .ok(
            "PUT",
            "/connections/acme/upload-stage",
            Some(json!({ "stageId": PHONE })),
        )
        .await;
    let status = world.ok("GET", "/connections/acme", None).await;
    assert_eq!(status["uploadStage"]["source"], "configured");
    assert_eq!(status["uploadStage"]["stageId"], PHONE);
    world
        .ok(
            "PUT",
            "/connections/acme/upload-stage",
            Some(json!({ "stageId": null })),
        )
        .await;
    let status = world.ok("GET", "/connections/acme", None).await;
    assert_eq!(status["uploadStage"]["source"], "default");
}

#[tokio::test(flavor = "multi_thread")]
async fn linking_an_empty_candidate_id_is_invalid_input() {
    let world = World::start().await;
    let error = world
        .connector
        .link_candidate("acme", "", ADA)
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(error, lever_host::server::ConnectorError::InvalidInput(_)),
        "{error:?}"
    );
    let error = world
        .connector
        .link_candidate("not a connection", "c", ADA)
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(error, lever_host::server::ConnectorError::InvalidInput(_)),
        "{error:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn call_invokes_typed_exports_per_connection_with_the_http_wire_shapes() {
    use lever_host::call::run;
    let world = World::start().await;
    let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();

    let linked = run(
        &world.connector,
        "get-linked-candidate",
        &args(&["acme", ADA]),
    )
    .await
    .unwrap();
    assert_eq!(linked, Ok(json!({ "partnerCandidateId": "cand-ada" })));
    // Another connection knows nothing of Acme's link.
    let other = run(
        &world.connector,
        "get-linked-candidate",
        &args(&["globex", ADA]),
    )
    .await
    .unwrap();
    assert_eq!(other, Ok(json!({ "partnerCandidateId": null })));
    let conflict = run(
        &world.connector,
        "link-candidate",
        &args(&["acme", "someone-else", ADA]),
    )
    .await
    .unwrap();
    assert_eq!(conflict.unwrap_err()["error"]["code"], "conflict");

    let set = run(
        &world.connector,
        "set-stage-map",
        &args(&["acme", r#"{"9f1c2a22-onsite":"final-round"}"#]),
    )
    .await
    .unwrap();
    assert_eq!(set, Ok(json!({ "9f1c2a22-onsite": "final-round" })));
    let map = run(&world.connector, "get-stage-map", &args(&["acme"]))
        .await
        .unwrap();
    assert_eq!(map, Ok(json!({ "9f1c2a22-onsite": "final-round" })));

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("delivery.json");
    let delivery = world.ada_moved(ONSITE);
    std::fs::write(&file, delivery.to_string()).unwrap();
    let handled = run(
        &world.connector,
        "handle-lever-webhook",
        &args(&["acme", file.to_str().unwrap()]),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(handled["forwarded"]["partnerStage"], "final-round");
    // The same delivery over HTTP answers the same shape: a duplicate now.
    let over_http = world.post(&delivery).await.json();
    assert_eq!(over_http["duplicate"], "forwarded");
    assert_eq!(over_http["connectionId"], handled["connectionId"]);
    assert_eq!(over_http["token"], handled["token"]);

    // Errors print exactly as the HTTP face answers them.
    let unsupported = run(&world.connector, "get-status", &args(&["bad id!"]))
        .await
        .unwrap()
        .unwrap_err();
    let http = world.call("GET", "/connections/bad%20id!", None).await;
    assert_eq!(unsupported, http.json());

    let status = run(&world.connector, "get-status", &args(&["acme"]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status, world.ok("GET", "/connections/acme", None).await);

    assert!(run(&world.connector, "no-such-function", &[])
        .await
        .is_err());
    assert!(run(
        &world.connector,
        "link-candidate",
        &args(&["acme", "only-one"])
    )
    .await
    .is_err());
}

#[test]
fn a_restart_loads_the_compiled_component_from_the_cache_and_never_a_damaged_one() {
    use lever_host::runtime::{CacheOutcome, Limits, Runtime};
    let dir = tempfile::tempdir().unwrap();
    let start = || Runtime::cached(lever_host::COMPONENT, Limits::default(), Some(dir.path()));
    let (first, outcome) = start().unwrap();
    assert_eq!(outcome, CacheOutcome::Compiled);
    let (_, outcome) = start().unwrap();
    assert_eq!(outcome, CacheOutcome::Hit);
    let cached: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(
        cached.len(),
        2,
        "the compiled file and its digest: {cached:?}"
    );
    let compiled = cached
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .unwrap();

    // One flipped byte: rebuilt, not loaded.
    let mut bytes = std::fs::read(compiled).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(compiled, &bytes).unwrap();
    let (_, outcome) = start().unwrap();
    assert!(matches!(outcome, CacheOutcome::Rebuilt(_)), "{outcome:?}");
    let (_, outcome) = start().unwrap();
    assert_eq!(outcome, CacheOutcome::Hit, "the rebuilt file was stored");

    // Truncated: rebuilt too.
    let bytes = std::fs::read(compiled).unwrap();
    std::fs::write(compiled, &bytes[..bytes.len() / 3]).unwrap();
    let (second, outcome) = start().unwrap();
    assert!(matches!(outcome, CacheOutcome::Rebuilt(_)), "{outcome:?}");
    // Both runtimes link the same exports.
    assert_eq!(first.exports(), second.exports());
}
