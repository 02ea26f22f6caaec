//! `lever-host serve` at trace-level logging through a full flow (API key and OAuth
//! connections, webhook install, a Lever delivery forwarded to the partner, a partner
//! upload, a connect-portal link opened): its log holds no API key, OAuth token, client
//! secret, signature token, partner secret, encryption key or portal token.

use std::process::Stdio;
use std::time::Duration;

use lever_host::http_util::HttpClient;
use lever_host::partner_api::{connect_by_oauth, PartnerApi};
use lever_host::sim::lever::{oauth, ACME, DEFAULT_API_KEY, GLOBEX};
use lever_host::sim::{partner, LeverSimOptions, Simulators};
use serde_json::json;

const ADA: &str = "250d8f03-738a-4bba-a671-8a3d73477145";
const PHONE: &str = "9f1c2a21-phone";
const ENCRYPTION_KEY: &str = "c2VjcmV0LWVuY3J5cHRpb24ta2V5LTMyLWJ5dGVzISE=";

#[tokio::test(flavor = "multi_thread")]
async fn a_full_flow_at_trace_level_logs_no_secret() {
    let sims = Simulators::start(
        LeverSimOptions::default(),
        partner::DEFAULT_SECRET,
        None,
        None,
    )
    .await
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("lever-host.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[host]
listen = "127.0.0.1:{port}"
kv_path = ":memory:"
tick_interval_secs = 0
reconcile_interval_secs = 0

[connector]
lever_api_base = "{}"
lever_auth_base = "{}"
oauth_client_id = "{}"
public_base_url = "{url}"
partner_callback_url = "{}"
"#,
            sims.lever_api_base(),
            sims.lever_auth_base(),
            oauth::CLIENT_ID,
            sims.partner_callback_url(),
        ),
    )
    .unwrap();
    let log_path = dir.path().join("lever-host.log");
    let log_file = std::fs::File::create(&log_path).unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_lever-host"))
        .args(["serve", "--config"])
        .arg(&config)
        .args(["--cache-dir"])
        .arg(dir.path().join("cache"))
        // Everything at trace level except the compiler's own passes over the component's
        // code at startup (megabytes of instruction dumps, before any request exists).
        .env(
            "RUST_LOG",
            "trace,cranelift_codegen=info,cranelift_frontend=info,regalloc2=info,\
             wasmtime_cranelift=info,wasmtime_environ=info,pulley_interpreter=info",
        )
        .env("LEVER_CONNECTOR_ENCRYPTION_KEY", ENCRYPTION_KEY)
        .env("LEVER_CONNECTOR_PARTNER_API_KEY", partner::DEFAULT_API_KEY)
        .env(
            "LEVER_CONNECTOR_PARTNER_WEBHOOK_SECRET",
            partner::DEFAULT_SECRET,
        )
        .env("LEVER_CONNECTOR_OAUTH_CLIENT_SECRET", oauth::CLIENT_SECRET)
        .stdout(Stdio::from(log_file.try_clone().unwrap()))
        .stderr(Stdio::from(log_file))
        .kill_on_drop(true)
        .spawn()
        .expect("lever-host starts");
    let client = HttpClient::default();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
    while !client
        .get(&format!("{url}/health"), &[])
        .await
        .is_ok_and(|r| r.status == 200)
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "lever-host did not serve"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let api = PartnerApi::new(&url, partner::DEFAULT_API_KEY);
    api.ok(
        "POST",
        "/connections/acme/api-key",
        Some(json!({ "apiKey": DEFAULT_API_KEY })),
    )
    .await
    .unwrap();
    api.ok("POST", "/connections/acme/webhooks", None)
        .await
        .unwrap();
    sims.lever.enable_webhooks(ACME, &[]);
    api.ok(
        "PUT",
        "/connections/acme/stage-map",
        Some(json!({ PHONE: "interviewing" })),
    )
    .await
    .unwrap();
    api.ok(
        "PUT",
        "/connections/acme/candidates/cand-ada/link",
        Some(json!({ "opportunityId": ADA })),
    )
    .await
    .unwrap();
    let mut deliveries = sims.lever.subscribe();
    sims.lever.move_stage(ADA, PHONE);
    let delivery = tokio::time::timeout(Duration::from_secs(20), deliveries.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(delivery.status, Some(200), "{}", delivery.response);
    assert!(sims.partner.received().iter().any(|e| e.verified));
    let connected = connect_by_oauth(&api, "globex", GLOBEX).await.unwrap();
    assert_eq!(connected.status, 200, "{}", connected.text());
    let link = api
        .call("POST", "/connections/acme/portal-link", Some(json!({})))
        .await
        .unwrap();
    assert_eq!(link.status, 201, "{}", link.text());
    let portal_url = link.json()["url"].as_str().unwrap().to_string();
    let opened = HttpClient::default().get(&portal_url, &[]).await.unwrap();
    assert_eq!(opened.status, 303);
    let session = opened.headers["set-cookie"]
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let page = HttpClient::default()
        .get(&format!("{url}/portal/acme"), &[("cookie", &session)])
        .await
        .unwrap();
    assert_eq!(page.status, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    child.kill().await.unwrap();
    let log = String::from_utf8_lossy(&std::fs::read(&log_path).unwrap()).into_owned();
    assert!(log.lines().count() > 50, "a trace-level log: {log}");
    assert!(log.contains("TRACE"), "trace level is on");
    assert!(log.contains("/webhooks/lever/acme"), "requests are logged");
    let mut secrets = vec![
        ("Lever API key", DEFAULT_API_KEY.to_string()),
        ("partner API key", partner::DEFAULT_API_KEY.to_string()),
        (
            "partner webhook secret",
            partner::DEFAULT_SECRET.to_string(),
        ),
        (
            "partner webhook secret (key part)",
            partner::DEFAULT_SECRET
                .trim_start_matches("whsec_")
                .to_string(),
        ),
        ("OAuth client secret", oauth::CLIENT_SECRET.to_string()),
        ("encryption key", ENCRYPTION_KEY.to_string()),
        (
            "portal token",
            portal_url.split("token=").nth(1).unwrap().to_string(),
        ),
        (
            "portal session",
            session.split('=').nth(1).unwrap().to_string(),
        ),
    ];
    for event in [
        "candidateStageChange",
        "candidateArchiveChange",
        "candidateHired",
    ] {
        let token = sims.lever.signature_token(ACME, event).unwrap();
        secrets.push(("webhook signature token", token));
    }
    let issued = sims.lever.issued_tokens();
    assert!(
        issued.len() >= 2,
        "OAuth issued an access and a refresh token"
    );
    for token in issued {
        secrets.push(("OAuth token", token));
    }
    for (what, secret) in &secrets {
        let shown: Vec<&str> = log
            .lines()
            .filter(|line| line.contains(secret.as_str()))
            .take(3)
            .collect();
        assert!(shown.is_empty(), "the log shows the {what}: {shown:#?}");
    }
}
