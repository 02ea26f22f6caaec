//! `lever-host demo`: the stage-sync flow end to end on embedded defaults. Starts the Lever
//! and partner simulators and the connector on free loopback ports, then plays a recruiter
//! moving a partner's candidate in Lever, and shows what reached the partner.

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context as _};
use serde_json::{json, Value};

use crate::http_util::{bind_loopback, HttpClient};
use crate::runtime::{Limits, Runtime};
use crate::server::Connector;
use crate::settings::Settings;
use crate::signing::{lever_delivery, random_token};
use crate::sim::{partner, LeverSimOptions, Simulators};

const API_KEY: &str = crate::sim::lever::DEFAULT_API_KEY;
const RECRUITER: &str = "user-0001";
const POSTING: &str = "f2f01e16-27f8-4711-a728-7d49499795a0";
const PARTNER_CANDIDATE: &str = "cand-kj-1001";
const WAIT: Duration = Duration::from_secs(20);

fn stage_map() -> String {
    json!({
        "9f1c2a20-screen": "screening",
        "9f1c2a21-phone": "interviewing",
        "9f1c2a22-onsite": "interviewing",
        "9f1c2a23-offer": "offer",
    })
    .to_string()
}

fn basic_auth() -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{API_KEY}:"))
    )
}

/// Runs the demo, writing a short account to `out`. Fails if anything did not happen as
/// it should.
pub async fn run(wasm: &[u8], out: &mut impl Write) -> anyhow::Result<()> {
    writeln!(
        out,
        "lever-connector demo: everything runs on 127.0.0.1, no Lever account needed\n"
    )?;
    let sims = Simulators::start(
        LeverSimOptions::default(),
        partner::DEFAULT_SECRET,
        None,
        None,
    )
    .await?;
    let listener = bind_loopback(None).await?;
    let connector_url = format!("http://{}", listener.local_addr()?);
    let client = HttpClient::default();
    let auth = basic_auth();

    // Lever side: register the webhook the way the one-click setup will (POST /webhooks),
    // keeping the signature token Lever returns only this once.
    let created = client
        .post_json(
            &format!("{}/webhooks", sims.lever_api_base()),
            &[("authorization", &auth)],
            &json!({ "event": "candidateStageChange", "url": format!("{connector_url}/webhooks/lever") }),
        )
        .await?;
    ensure!(
        created.status == 201,
        "creating the Lever webhook: {}",
        created.text()
    );
    let signature_token = created.json()["data"]["configuration"]["signatureToken"]
        .as_str()
        .context("Lever returned no signature token")?
        .to_string();

    let started = Instant::now();
    let runtime = Runtime::new(wasm, Limits::default())?;
    let compile_ms = started.elapsed().as_millis();
    let config = sims.connector_config(
        (
            "lever_signature_token_candidate_stage_change",
            &signature_token,
        ),
        &stage_map(),
    );
    let connector = Connector::new(runtime, &Settings::in_process(config)?)?;
    let _served = connector.spawn(listener)?;
    writeln!(out, "  Lever simulator     {}", sims.lever_api_base())?;
    writeln!(out, "  partner simulator   {}", sims.partner_callback_url())?;
    writeln!(
        out,
        "  connector           {connector_url}  ({} KB component, compiled in {compile_ms} ms)\n",
        wasm.len() / 1024
    )?;

    // 1. A candidate the partner submitted is in Lever, applied to a posting.
    let created = client
        .post_json(
            &format!(
                "{}/opportunities?perform_as={RECRUITER}",
                sims.lever_api_base()
            ),
            &[("authorization", &auth)],
            &json!({
                "name": "Katherine Johnson",
                "emails": ["katherine@example.com"],
                "links": ["https://partner.example/applications/1001"],
                "origin": "agency",
                "sources": ["Partner"],
                "stage": "9f1c2a20-screen",
                "postings": [POSTING],
            }),
        )
        .await?;
    ensure!(
        created.status == 201,
        "creating the opportunity: {}",
        created.text()
    );
    let opportunity = created.json()["data"]["id"]
        .as_str()
        .context("no opportunity id")?
        .to_string();
    connector
        .link_candidate(PARTNER_CANDIDATE, &opportunity)
        .await?
        .map_err(|e| anyhow::anyhow!("linking the candidate: {e:?}"))?;
    writeln!(
        out,
        "1. Partner candidate {PARTNER_CANDIDATE} (Katherine Johnson) is Lever opportunity {opportunity},\n   at \"Recruiter screen\" on \"Senior Rust Engineer\"."
    )?;

    // 2. A recruiter moves her to the on-site interview in Lever.
    let mut partner_events = sims.partner.subscribe();
    let mut deliveries = sims.lever.subscribe();
    let moved = client
        .send(
            "PUT",
            &format!(
                "{}/opportunities/{opportunity}/stage?perform_as={RECRUITER}",
                sims.lever_api_base()
            ),
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            json!({ "stage": "9f1c2a22-onsite" }).to_string(),
        )
        .await?;
    ensure!(moved.status == 200, "changing the stage: {}", moved.text());
    writeln!(
        out,
        "2. A recruiter moves her to \"On-site interview\" in Lever."
    )?;

    let delivery = tokio::time::timeout(WAIT, deliveries.recv())
        .await
        .context("Lever's webhook delivery did not complete")??;
    writeln!(
        out,
        "3. Lever delivers a signed candidateStageChange webhook; the connector verifies it,\n   confirms the stage with GET /opportunities/{opportunity} and answers {}:\n   {}",
        delivery.status.map_or("nothing".into(), |s| s.to_string()),
        delivery.response
    )?;
    ensure!(
        delivery.status == Some(200),
        "the connector did not accept the delivery"
    );

    let event = tokio::time::timeout(WAIT, partner_events.recv())
        .await
        .context("the partner received nothing")??;
    ensure!(
        event.verified,
        "the partner could not verify the signature: {:?}",
        event.rejection
    );
    writeln!(
        out,
        "4. The partner receives {} (Standard Webhooks signature verified):\n   webhook-id {}, candidate {}, stage \"{}\"",
        event.body["type"].as_str().unwrap_or("?"),
        event.webhook_id.as_deref().unwrap_or("?"),
        event.body["data"]["partnerCandidateId"].as_str().unwrap_or("?"),
        event.body["data"]["stage"].as_str().unwrap_or("?"),
    )?;
    ensure!(
        event.body["data"]["stage"] == "interviewing",
        "wrong partner stage"
    );

    // 3. Bad deliveries get clear answers and cause nothing.
    let forged = lever_delivery(
        "not-the-signature-token",
        "candidateStageChange",
        delivery.body["data"].clone(),
        crate::http_util::now_ms(),
        &random_token(48),
    );
    let webhook_url = format!("{connector_url}/webhooks/lever");
    let answer = client.post_json(&webhook_url, &[], &forged).await?;
    writeln!(
        out,
        "5. A forged delivery (wrong signing key) is refused: {} {}",
        answer.status,
        answer.text()
    )?;
    ensure!(answer.status == 401, "a forged delivery was not refused");

    let replay = client.post_json(&webhook_url, &[], &delivery.body).await?;
    writeln!(
        out,
        "6. The same delivery replayed is recognised: {} {}",
        replay.status,
        replay.text()
    )?;
    ensure!(
        replay.status == 200 && replay.json().get("duplicate").is_some(),
        "a replay was not detected"
    );

    let received = sims.partner.received();
    let verified: Vec<&Value> = received
        .iter()
        .filter(|e| e.verified)
        .map(|e| &e.body)
        .collect();
    if verified.len() != 1 {
        bail!(
            "the partner received {} events instead of 1",
            verified.len()
        );
    }
    writeln!(
        out,
        "\nDone: the partner received exactly 1 verified event; nothing was lost or duplicated."
    )?;
    Ok(())
}
