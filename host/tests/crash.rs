//! Crash safety: `lever-host serve` is killed with SIGKILL in the middle of a stream of
//! signed Lever deliveries and partner uploads, then started again on the same SQLite file.
//! Lever keeps retrying what failed (as it does, with growing gaps); the partner retries an
//! upload that got no answer, as a client does. Afterwards every Lever change reached the
//! partner under one `webhook-id` and the partner's stage of each candidate is Lever's,
//! every upload exists in Lever once, and no claim on work in progress outlived its lease.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::time::Duration;

use lever_host::http_util::HttpClient;
use lever_host::kv::KvStore;
use lever_host::partner_api::PartnerApi;
use lever_host::sim::lever::{ACME, DEFAULT_API_KEY};
use lever_host::sim::{partner, LeverSimOptions, Simulators};
use serde_json::{json, Value};

const ENCRYPTION_KEY: &str = "Y3Jhc2gtdGVzdC1lbmNyeXB0aW9uLWtleS0zMi1ieXQ=";
const STAGES: [&str; 3] = ["9f1c2a21-phone", "9f1c2a22-onsite", "9f1c2a23-offer"];
const RECRUITER: &str = "user-0001";
const RUST_POSTING: &str = "f2f01e16-27f8-4711-a728-7d49499795a0";
/// Opportunities moved in Lever, and moves made.
const OPPORTUNITIES: usize = 12;
const MOVES: usize = 72;
/// Candidates the partner submits.
const UPLOADS: usize = 30;
/// The claim lease the deployment is configured with (seconds).
const LEASE_SECS: u64 = 3;

/// `lever-host serve` on `port` with the configuration in `dir`.
async fn serve(dir: &std::path::Path, port: u16) -> tokio::process::Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("lever-host.log"))
        .unwrap();
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_lever-host"))
        .args(["serve", "--config"])
        .arg(dir.join("lever-host.toml"))
        .arg("--cache-dir")
        .arg(dir.join("cache"))
        .env("RUST_LOG", "warn")
        .env("LEVER_CONNECTOR_ENCRYPTION_KEY", ENCRYPTION_KEY)
        .env("LEVER_CONNECTOR_PARTNER_API_KEY", partner::DEFAULT_API_KEY)
        .env(
            "LEVER_CONNECTOR_PARTNER_WEBHOOK_SECRET",
            partner::DEFAULT_SECRET,
        )
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .expect("lever-host starts");
    let client = HttpClient::default();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
    while !client
        .get(&format!("http://127.0.0.1:{port}/health"), &[])
        .await
        .is_ok_and(|r| r.status == 200)
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "lever-host did not serve: {}",
            std::fs::read_to_string(dir.join("lever-host.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child
}

/// Submits candidate `i` until the connector answers it (a refused connection, a 5xx or a
/// 409 for an upload another attempt still holds are retried, as a partner's client does).
async fn submit(api: &PartnerApi, i: usize) -> Value {
    let body = json!({
        "partnerCandidateId": format!("cand-up-{i}"),
        "partnerRoleId": "role-rust",
        "name": format!("Uploaded Candidate {i}"),
        "emails": [format!("up-{i}@example.com")],
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        match api
            .call("POST", "/connections/acme/candidates", Some(body.clone()))
            .await
        {
            Ok(answer) if (200..300).contains(&answer.status) => return answer.json(),
            Ok(answer) if answer.status < 500 && answer.status != 409 && answer.status != 429 => {
                panic!("upload {i} refused: {} {}", answer.status, answer.text())
            }
            _ => {}
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "upload {i} never answered"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_killed_mid_stream_and_restarted_on_its_file_loses_and_repeats_nothing() {
    let sims = Simulators::start(
        LeverSimOptions {
            // Lever retries 5 times; more here, so every chain outlives the restart on a
            // busy 2-core machine.
            webhook_retries: 10,
            webhook_retry_base: Duration::from_millis(300),
            ..LeverSimOptions::default()
        },
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
    std::fs::write(
        dir.path().join("lever-host.toml"),
        format!(
            r#"
[host]
listen = "127.0.0.1:{port}"
kv_path = "kv.sqlite"
tick_interval_secs = 1
reconcile_interval_secs = 0

[connector]
lever_api_base = "{}"
lever_auth_base = "{}"
public_base_url = "{url}"
partner_callback_url = "{}"
delivery_lease_secs = "{LEASE_SECS}"
"#,
            sims.lever_api_base(),
            sims.lever_auth_base(),
            sims.partner_callback_url(),
        ),
    )
    .unwrap();
    let mut child = serve(dir.path(), port).await;

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
    let map: serde_json::Map<String, Value> = STAGES
        .iter()
        .map(|stage| (stage.to_string(), json!(format!("partner-{stage}"))))
        .collect();
    for (method, path, body) in [
        ("PUT", "/connections/acme/stage-map", Value::Object(map)),
        (
            "PUT",
            "/connections/acme/perform-as",
            json!({ "userId": RECRUITER }),
        ),
        (
            "PUT",
            "/connections/acme/roles/role-rust",
            json!({ "postingId": RUST_POSTING }),
        ),
    ] {
        api.ok(method, path, Some(body)).await.unwrap();
    }
    let opportunities = sims.lever.seed_opportunities(ACME, OPPORTUNITIES);
    for (i, opportunity) in opportunities.iter().enumerate() {
        api.ok(
            "PUT",
            &format!("/connections/acme/candidates/cand-lever-{i}/link"),
            Some(json!({ "opportunityId": opportunity })),
        )
        .await
        .unwrap();
    }

    // The stream: Lever moves candidates while the partner submits new ones.
    let lever = sims.lever.clone();
    let moved = opportunities.clone();
    let moves = tokio::spawn(async move {
        for k in 0..MOVES {
            let opportunity = &moved[k % OPPORTUNITIES];
            lever.move_stage(opportunity, STAGES[(k / OPPORTUNITIES) % STAGES.len()]);
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
    });
    let uploader = PartnerApi::new(&url, partner::DEFAULT_API_KEY);
    let uploads = tokio::spawn(async move {
        let mut answers = Vec::new();
        for i in 0..UPLOADS {
            answers.push(submit(&uploader, i).await);
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        answers
    });

    // Killed in the middle of it, started again on the same file.
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let pid = child.id().expect("running");
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let _ = child.wait().await;
    let killed_at = lever_host::http_util::now_ms();
    let partner_before_restart = sims.partner.received().len();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut child = serve(dir.path(), port).await;
    let restarted_at = lever_host::http_util::now_ms();

    moves.await.unwrap();
    let answers = uploads.await.unwrap();
    assert_eq!(answers.len(), UPLOADS);

    // Lever's retries settle, and every claim the killed process left lapses and is redone.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while sims.lever.deliveries_in_flight() > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "Lever kept retrying"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(LEASE_SECS + 2)).await;

    // Every chain of attempts the simulator made ended in a 2xx.
    let attempts = sims.lever.deliveries();
    let gave_up: Vec<_> = attempts
        .iter()
        .filter(|a| a.attempt == 11 && !a.status.is_some_and(|s| (200..300).contains(&s)))
        .collect();
    assert!(gave_up.is_empty(), "Lever gave up on {gave_up:?}");
    let retried = attempts.iter().filter(|a| a.attempt > 1).count();
    assert!(retried > 0, "the kill made Lever retry something");

    // Each Lever change reached the partner under one webhook-id, and the partner's latest
    // stage of every candidate is Lever's.
    let accepted: Vec<_> = sims
        .partner
        .received()
        .into_iter()
        .filter(|e| e.verified && (200..300).contains(&e.answered))
        .collect();
    assert!(accepted.len() > partner_before_restart);
    let mut ids_per_change: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for e in &accepted {
        let change = format!(
            "{}|{}|{}|{}",
            e.body["type"],
            e.body["data"]["leverOpportunityId"],
            e.body["data"]["leverStageId"],
            e.body["occurredAt"]
        );
        ids_per_change
            .entry(change)
            .or_default()
            .insert(e.webhook_id.clone().unwrap_or_default());
    }
    let duplicated: Vec<_> = ids_per_change
        .iter()
        .filter(|(_, ids)| ids.len() > 1)
        .collect();
    assert!(
        duplicated.is_empty(),
        "changes under two ids: {duplicated:?}"
    );
    for opportunity in &opportunities {
        let in_lever = sims.lever.opportunity(opportunity).unwrap()["stage"].clone();
        let latest = accepted
            .iter()
            .filter(|e| {
                e.body["type"] == "candidate.stage_changed"
                    && e.body["data"]["leverOpportunityId"] == opportunity.as_str()
            })
            .max_by_key(|e| e.body["occurredAt"].as_u64().unwrap_or(0))
            .map(|e| e.body["data"]["leverStageId"].clone());
        assert_eq!(latest, Some(in_lever), "opportunity {opportunity}");
    }

    // Every accepted upload is in Lever exactly once.
    let in_lever = sims.lever.opportunities(ACME);
    for i in 0..UPLOADS {
        let email = format!("up-{i}@example.com");
        let copies = in_lever
            .iter()
            .filter(|o| {
                o["emails"]
                    .as_array()
                    .is_some_and(|e| e.contains(&json!(email)))
            })
            .count();
        assert_eq!(copies, 1, "{email} is in Lever {copies} times");
    }

    // Nothing half-done outlived its lease: every upload intent is done, the outbox and the
    // dead letters are empty, no report claim is held, and the only deliveries left
    // "processing" are the killed process's (each redone by Lever's retry, whose fresh token
    // made it a new delivery; their records expire with the rest).
    let _ = child.start_kill();
    let _ = child.wait().await;
    let store = KvStore::open(&dir.path().join("kv.sqlite")).unwrap();
    let now = lever_host::http_util::now_ms();
    let mut cursor: Option<String> = None;
    let mut processing_after_restart = Vec::new();
    let mut processing_left_by_kill = 0;
    let mut half_done = Vec::new();
    loop {
        let (keys, next) = store.list_keys("default", cursor.as_deref()).unwrap();
        for key in keys {
            let value = store.get("default", &key).unwrap().unwrap_or_default();
            let text = String::from_utf8_lossy(&value);
            if key.starts_with("conn/acme/upload/") && !text.contains("\"state\":\"created\"") {
                half_done.push(format!("{key}: {text}"));
            }
            if key.starts_with("conn/acme/outbox/") || key.starts_with("conn/acme/dead/") {
                half_done.push(format!("{key}: {text}"));
            }
            if key.starts_with("conn/acme/sync/reporting/") {
                let until: u64 = text.split(':').next().unwrap_or("0").parse().unwrap_or(0);
                if until > now {
                    half_done.push(format!("{key}: {text}"));
                }
            }
            if key.starts_with("conn/acme/delivery/") && text.contains("\"state\":\"processing\"") {
                let record: Value = serde_json::from_slice(&value).unwrap();
                let at = record["handledAt"].as_u64().unwrap_or(0);
                if at >= restarted_at || at > killed_at {
                    processing_after_restart.push(format!("{key}: {text}"));
                } else {
                    processing_left_by_kill += 1;
                }
            }
        }
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    eprintln!(
        "crash: moves={MOVES} lever_retries={retried} partner_events={} changes={} uploads={UPLOADS} processing_left_by_kill={processing_left_by_kill}",
        accepted.len(),
        ids_per_change.len()
    );
    assert!(half_done.is_empty(), "{half_done:#?}");
    assert!(
        processing_after_restart.is_empty(),
        "{processing_after_restart:#?}"
    );
}
