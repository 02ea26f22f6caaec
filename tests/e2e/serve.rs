//! Serving from a configuration file: persistence, the typed status, secrets in logs.

use lever_host::http_util::bind_loopback;
use lever_host::server::Connector;
use lever_host::settings::Settings;
use lever_host::sim::{partner, LeverSimOptions, Simulators};
use serde_json::json;

use crate::harness::*;

fn config_file(sims: &Simulators) -> String {
    format!(
        r#"
[host]
kv_path = "kv.sqlite"

[connector]
lever_api_base = "{}"
partner_callback_url = "{}"
stage_map = '{}'
"#,
        sims.lever_api_base(),
        sims.partner_callback_url(),
        stage_map()
    )
}

fn secrets() -> Vec<(String, String)> {
    vec![
        ("LEVER_CONNECTOR_LEVER_API_KEY".into(), API_KEY.into()),
        (
            "LEVER_CONNECTOR_LEVER_SIGNATURE_TOKEN".into(),
            SIGNATURE_TOKEN.into(),
        ),
        (
            "LEVER_CONNECTOR_PARTNER_WEBHOOK_SECRET".into(),
            partner::DEFAULT_SECRET.into(),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn handled_deliveries_and_links_survive_a_restart() {
    let sims = simulators(LeverSimOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lever-host.toml");
    std::fs::write(&path, config_file(&sims)).unwrap();
    let delivery = ada_moved(ONSITE);
    let client = lever_host::http_util::HttpClient::default();

    {
        let settings = Settings::load(&path, secrets()).unwrap();
        let connector = Connector::new(runtime(), &settings).unwrap();
        let served = connector.spawn(bind_loopback(None).await.unwrap()).unwrap();
        connector
            .link_candidate("cand-ada", ADA)
            .await
            .unwrap()
            .unwrap();
        let answer = client
            .post_json(&format!("{}/webhooks/lever", served.url()), &[], &delivery)
            .await
            .unwrap();
        assert_eq!(answer.status, 200, "{}", answer.text());
    }
    assert!(dir.path().join("kv.sqlite").exists());

    let settings = Settings::load(&path, secrets()).unwrap();
    let connector = Connector::new(runtime(), &settings).unwrap();
    let served = connector.spawn(bind_loopback(None).await.unwrap()).unwrap();
    let again = client
        .post_json(&format!("{}/webhooks/lever", served.url()), &[], &delivery)
        .await
        .unwrap();
    assert_eq!(again.json(), json!({ "duplicate": delivery["token"] }));
    assert_eq!(sims.partner.received().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn status_lists_what_is_missing_from_the_configuration() {
    let world = World::start_with(|settings| {
        settings.connector.remove("lever_api_key");
        settings.connector.remove("stage_map");
    })
    .await;
    let status = world.connector.status().await.unwrap().unwrap();
    assert_eq!(status.auth, "none");
    assert_eq!(
        status.missing_config,
        vec!["lever_api_key".to_string(), "stage_map".to_string()]
    );
    assert_eq!(status.mapped_stages, 0);

    let world = World::start().await;
    let status = world.connector.status().await.unwrap().unwrap();
    assert_eq!(status.auth, "api-key");
    assert!(
        status.missing_config.is_empty(),
        "{:?}",
        status.missing_config
    );
    assert_eq!(status.mapped_stages, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn linking_an_empty_candidate_id_is_invalid_input() {
    let world = World::start().await;
    let error = world
        .connector
        .link_candidate("", ADA)
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(error, lever_host::server::ConnectorError::InvalidInput(_)),
        "{error:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn call_invokes_typed_exports_and_reports_connector_errors_as_json() {
    use lever_host::call::run;
    let world = World::start().await;
    let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();

    let linked = run(&world.connector, "get-linked-candidate", &args(&[ADA]))
        .await
        .unwrap();
    assert_eq!(linked, Ok(json!({ "partnerCandidateId": "cand-ada" })));
    let conflict = run(
        &world.connector,
        "link-candidate",
        &args(&["someone-else", ADA]),
    )
    .await
    .unwrap();
    assert_eq!(conflict.unwrap_err()["error"]["code"], "conflict");

    let set = run(
        &world.connector,
        "set-stage-map",
        &args(&[r#"{"9f1c2a22-onsite":"final-round"}"#]),
    )
    .await
    .unwrap();
    assert_eq!(set, Ok(json!({ "mappedStages": 1 })));
    let map = run(&world.connector, "get-stage-map", &[]).await.unwrap();
    assert_eq!(map, Ok(json!({ "9f1c2a22-onsite": "final-round" })));

    // The stored map now wins over the configured one.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("delivery.json");
    std::fs::write(&file, ada_moved(ONSITE).to_string()).unwrap();
    let handled = run(
        &world.connector,
        "handle-lever-webhook",
        &args(&[file.to_str().unwrap()]),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        handled["outcome"]["forwarded"]["partnerStage"],
        "final-round"
    );

    assert!(run(&world.connector, "no-such-function", &[])
        .await
        .is_err());
    assert!(
        run(&world.connector, "link-candidate", &args(&["only-one"]))
            .await
            .is_err()
    );
}
