//! A customer connects its Lever sandbox beside its production account: a connection chooses
//! its environment, and its credentials and calls go to that environment's hosts only.

use lever_host::partner_api::connect_by_oauth;
use lever_host::sim::lever::{seed, Seed, ACME, DEFAULT_API_KEY};
use lever_host::sim::{partner, LeverSimOptions, Simulators};
use serde_json::json;

use crate::harness::*;

const SANDBOX_KEY: &str = "sandbox-api-key";

/// A world whose deployment is production (the default simulators) with a Lever sandbox
/// (a second simulator, whose Acme has its own API key).
async fn two_environments() -> (World, Simulators) {
    let sandbox = Simulators::start(
        LeverSimOptions {
            accounts: vec![Seed {
                api_key: SANDBOX_KEY.into(),
                ..seed::acme()
            }],
            ..LeverSimOptions::default()
        },
        partner::DEFAULT_SECRET,
        None,
        None,
    )
    .await
    .unwrap();
    let (api, auth, addr) = (
        sandbox.lever_api_base(),
        sandbox.lever_auth_base(),
        sandbox.lever_addr.to_string(),
    );
    let world = World::bare_with(move |settings| {
        settings
            .connector
            .insert("lever_sandbox_api_base".into(), api);
        settings
            .connector
            .insert("lever_sandbox_auth_base".into(), auth);
        settings.allowed_outbound.insert(addr);
    })
    .await;
    (world, sandbox)
}

#[tokio::test(flavor = "multi_thread")]
async fn sandbox_and_production_connections_never_send_their_credentials_to_the_other() {
    let (world, sandbox) = two_environments().await;

    // Production, the deployment's default.
    world
        .ok(
            "POST",
            "/connections/prod/api-key",
            Some(json!({ "apiKey": DEFAULT_API_KEY })),
        )
        .await;
    // A sandbox connection with an API key...
    let chosen = world
        .ok(
            "PUT",
            "/connections/sbx/environment",
            Some(json!({ "environment": "sandbox" })),
        )
        .await;
    assert_eq!(chosen["environment"], "sandbox");
    world
        .ok(
            "POST",
            "/connections/sbx/api-key",
            Some(json!({ "apiKey": SANDBOX_KEY })),
        )
        .await;
    // ...and one by OAuth, consented in the sandbox.
    world
        .ok(
            "PUT",
            "/connections/sbx-oauth/environment",
            Some(json!({ "environment": "sandbox" })),
        )
        .await;
    let started = world
        .ok("POST", "/connections/sbx-oauth/oauth/start", None)
        .await;
    let authorize = started["authorizeUrl"].as_str().unwrap();
    assert!(
        authorize.starts_with(&sandbox.lever_auth_base()),
        "{authorize}"
    );
    let connected = connect_by_oauth(&world.partner, "sbx-oauth", ACME)
        .await
        .unwrap();
    assert_eq!(connected.status, 200, "{}", connected.text());
    // And production by OAuth too.
    let connected = world.connect_oauth("prod-oauth", ACME).await;
    assert_eq!(connected.status, 200, "{}", connected.text());

    for connection in ["prod", "sbx", "sbx-oauth", "prod-oauth"] {
        let stages = world
            .ok(
                "GET",
                &format!("/connections/{connection}/lever/stages"),
                None,
            )
            .await;
        assert!(!stages["data"].as_array().unwrap().is_empty());
        let got = world
            .ok(
                "POST",
                &format!("/connections/{connection}/actions/get-opportunity"),
                Some(json!({ "id": ADA })),
            )
            .await;
        assert_eq!(got["data"]["id"], ADA);
        let status = world
            .ok("GET", &format!("/connections/{connection}"), None)
            .await;
        let expected = if connection.starts_with("sbx") {
            "sandbox"
        } else {
            "production"
        };
        assert_eq!(status["environment"], expected, "{connection}");
    }

    // Which secrets reached which host.
    let production_saw = world.sims.lever.credentials_presented();
    let sandbox_saw = sandbox.lever.credentials_presented();
    assert!(production_saw.iter().any(|c| c == DEFAULT_API_KEY));
    assert!(sandbox_saw.iter().any(|c| c == SANDBOX_KEY));
    assert!(
        !production_saw.iter().any(|c| c == SANDBOX_KEY),
        "the sandbox key reached production"
    );
    assert!(
        !sandbox_saw.iter().any(|c| c == DEFAULT_API_KEY),
        "the production key reached the sandbox"
    );
    let production_tokens: Vec<&String> =
        production_saw.iter().filter(|c| c.contains('.')).collect();
    let sandbox_tokens: Vec<&String> = sandbox_saw.iter().filter(|c| c.contains('.')).collect();
    assert!(!production_tokens.is_empty() && !sandbox_tokens.is_empty());
    for token in &sandbox_tokens {
        assert!(
            !production_saw.contains(token),
            "a sandbox token reached production"
        );
    }
    for token in &production_tokens {
        assert!(
            !sandbox_saw.contains(token),
            "a production token reached the sandbox"
        );
    }

    // A connected connection keeps its environment until it is disconnected.
    let moved = world
        .call(
            "PUT",
            "/connections/sbx/environment",
            Some(json!({ "environment": "production" })),
        )
        .await;
    assert_eq!(moved.status, 409, "{}", moved.text());
    let bogus = world
        .call(
            "PUT",
            "/connections/new/environment",
            Some(json!({ "environment": "staging" })),
        )
        .await;
    assert_eq!(bogus.status, 400);
}
