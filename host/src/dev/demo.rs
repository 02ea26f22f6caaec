//! `lever-host demo`: the main job on embedded defaults. Starts a Lever simulator with two
//! accounts, the partner simulator and the connector on free loopback ports; connects two
//! companies (Acme by OAuth, Globex by API key), installs their webhooks in one click, links
//! a role, maps stages, runs the stage flow for both, shows a delivery signed for one
//! company refused at the other's URL, and disconnects one.

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context as _};
use serde_json::json;

use crate::http_util::{bind_loopback, HttpClient};
use crate::partner_api::{connect_by_oauth, PartnerApi};
use crate::runtime::{Limits, Runtime};
use crate::server::Connector;
use crate::settings::Settings;
use crate::sim::lever::{ACME, GLOBEX, GLOBEX_API_KEY};
use crate::sim::{partner, LeverSimOptions, Simulators};

const WAIT: Duration = Duration::from_secs(20);

fn line(out: &mut impl Write, text: impl AsRef<str>) -> anyhow::Result<()> {
    writeln!(out, "{}", text.as_ref())?;
    Ok(())
}

/// Runs the demo, writing a short account to `out`. Fails if anything did not happen as
/// it should.
pub async fn run(wasm: &[u8], out: &mut impl Write) -> anyhow::Result<()> {
    line(out, "lever-connector demo: two companies, two Lever accounts, one connector; everything on 127.0.0.1\n")?;
    let sims = Simulators::start(
        LeverSimOptions::default(),
        partner::DEFAULT_SECRET,
        None,
        None,
    )
    .await?;
    let listener = bind_loopback(None).await?;
    let connector_url = format!("http://{}", listener.local_addr()?);
    let started = Instant::now();
    let runtime = Runtime::new(wasm, Limits::default())?;
    let compile_ms = started.elapsed().as_millis();
    let connector = Connector::new(
        runtime,
        &Settings::in_process(sims.connector_config(&connector_url))?,
    )?;
    let _served = connector.spawn(listener)?;
    line(
        out,
        format!(
            "  Lever simulator     {} (accounts {ACME}, {GLOBEX})",
            sims.lever_api_base()
        ),
    )?;
    line(
        out,
        format!("  partner simulator   {}", sims.partner_callback_url()),
    )?;
    line(out, format!("  connector           {connector_url}  ({} KB component, compiled in {compile_ms} ms)\n", wasm.len() / 1024))?;
    let partner = PartnerApi::new(&connector_url, partner::DEFAULT_API_KEY);

    // 1. Connect both companies.
    let acme = connect_by_oauth(&partner, "acme", ACME).await?;
    ensure!(
        acme.status == 200,
        "OAuth callback answered {}: {}",
        acme.status,
        acme.text()
    );
    line(out, format!(
        "1. Acme's Super Admin connects Lever by OAuth: account {}, token valid for {} min (refreshed before it expires)",
        acme.json()["connected"]["accountId"].as_str().unwrap_or("?"),
        acme.json()["connected"]["expiresAt"]
            .as_u64()
            .map_or(0, |at| at.saturating_sub(crate::http_util::now_ms()) / 60_000 + 1),
    ))?;
    partner
        .ok(
            "POST",
            "/connections/globex/api-key",
            Some(json!({ "apiKey": GLOBEX_API_KEY })),
        )
        .await?;
    line(
        out,
        "   Globex's admin connects with a Lever API key (checked with one Lever call first).",
    )?;

    // 2. Set each company up.
    let setups = [
        (
            "acme",
            ACME,
            "user-0001",
            "role-rust",
            "f2f01e16-27f8-4711-a728-7d49499795a0",
            json!({ "9f1c2a20-screen": "screening", "9f1c2a21-phone": "interviewing", "9f1c2a22-onsite": "interviewing", "9f1c2a23-offer": "offer" }),
        ),
        (
            "globex",
            GLOBEX,
            "globex-user-1",
            "role-orbital",
            "globex-posting-1",
            json!({ "7d2e4c10-a1b2-4c3d-8e9f-000000000001": "screening", "7d2e4c10-a1b2-4c3d-8e9f-000000000002": "interviewing", "7d2e4c10-a1b2-4c3d-8e9f-000000000003": "offer" }),
        ),
    ];
    for (c, account, user, role, posting, map) in &setups {
        let installed = partner
            .ok("POST", &format!("/connections/{c}/webhooks"), None)
            .await?;
        let created = installed["webhooks"].as_array().map_or(0, Vec::len);
        sims.lever.enable_webhooks(account, &[]);
        partner
            .ok(
                "PUT",
                &format!("/connections/{c}/perform-as"),
                Some(json!({ "userId": user })),
            )
            .await?;
        partner
            .ok(
                "PUT",
                &format!("/connections/{c}/roles/{role}"),
                Some(json!({ "postingId": posting })),
            )
            .await?;
        partner
            .ok(
                "PUT",
                &format!("/connections/{c}/stage-map"),
                Some(map.clone()),
            )
            .await?;
        let status = partner
            .ok("GET", &format!("/connections/{c}"), None)
            .await?;
        line(out, format!(
            "2. {c}: {created} webhooks installed in one click (a Super Admin then enables them), perform-as {user},\n   role {role} → posting {posting}, {} stages mapped, upload stage {}",
            status["mappedStages"].as_array().map_or(0, Vec::len),
            status["uploadStage"]["text"].as_str().unwrap_or("?"),
        ))?;
    }

    // 3. The partner submits a candidate to each company: uploaded once, on the linked
    //    posting, at that pipeline's first interviewing stage.
    let submissions = [
        (
            "acme",
            "role-rust",
            "cand-1001",
            "Katherine Coleman",
            "9f1c2a21-phone",
        ),
        (
            "globex",
            "role-orbital",
            "cand-2001",
            "Mary Jackson",
            "7d2e4c10-a1b2-4c3d-8e9f-000000000002",
        ),
    ];
    let mut uploaded = Vec::new();
    for (c, role, candidate, name, _) in &submissions {
        let body = json!({
            "partnerCandidateId": candidate,
            "partnerRoleId": role,
            "name": name,
            "emails": [format!("{candidate}@example.com")],
            "applicationUrl": format!("https://partner.example/applications/{candidate}"),
            "note": "Submitted through the partner marketplace.",
        });
        let answer = partner
            .call(
                "POST",
                &format!("/connections/{c}/candidates"),
                Some(body.clone()),
            )
            .await?;
        ensure!(answer.status == 201, "uploading to {c}: {}", answer.text());
        let again = partner
            .call("POST", &format!("/connections/{c}/candidates"), Some(body))
            .await?;
        ensure!(
            again.json()["opportunityId"] == answer.json()["opportunityId"]
                && again.json()["created"] == false,
            "a resubmission created something"
        );
        let json = answer.json();
        line(out, format!(
            "3. {c}: partner candidate {candidate} ({name}) uploaded as opportunity {} at stage {} (the default rule); resubmitting creates nothing",
            json["opportunityId"].as_str().unwrap_or("?"),
            json["stageId"].as_str().unwrap_or("?"),
        ))?;
        uploaded.push(
            json["opportunityId"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
    }

    // 4. Recruiters move them in Lever; each change flows back to the partner.
    let mut deliveries = sims.lever.subscribe();
    let mut events = sims.partner.subscribe();
    for (opportunity, (_, _, _, _, stage)) in uploaded.iter().zip(&submissions) {
        sims.lever.move_stage(opportunity, stage);
    }
    let mut acme_delivery = None;
    let mut stage_changes = 0;
    while stage_changes < 2 {
        let delivery = tokio::time::timeout(WAIT, deliveries.recv())
            .await
            .context("no Lever delivery")??;
        ensure!(
            delivery.status == Some(200),
            "the connector answered {:?}: {}",
            delivery.status,
            delivery.response
        );
        if delivery.event != "candidateStageChange" {
            continue;
        }
        stage_changes += 1;
        if delivery.account == ACME {
            acme_delivery = Some(delivery);
        }
    }
    let mut received = Vec::new();
    for _ in 0..2 {
        let event = tokio::time::timeout(WAIT, events.recv())
            .await
            .context("the partner received nothing")??;
        ensure!(
            event.verified,
            "the partner could not verify: {:?}",
            event.rejection
        );
        received.push(event.body);
    }
    received.sort_by(|a, b| a["connectionId"].as_str().cmp(&b["connectionId"].as_str()));
    for event in &received {
        line(out, format!(
            "4. A recruiter moves the candidate in Lever → signed webhook → connector → partner: {} for connection {},\n   partner candidate {} now \"{}\" (Lever stage {})",
            event["type"].as_str().unwrap_or("?"),
            event["connectionId"].as_str().unwrap_or("?"),
            event["data"]["partnerCandidateId"].as_str().unwrap_or("?"),
            event["data"]["stage"].as_str().unwrap_or("?"),
            event["data"]["leverStageId"].as_str().unwrap_or("?"),
        ))?;
    }
    ensure!(
        received
            .iter()
            .map(|e| (
                e["connectionId"].as_str(),
                e["data"]["partnerCandidateId"].as_str()
            ))
            .collect::<Vec<_>>()
            == [
                (Some("acme"), Some("cand-1001")),
                (Some("globex"), Some("cand-2001"))
            ],
        "events reached the partner under the wrong connection"
    );

    // 5. The partner moves Acme's candidate to its "offer" stage: Lever is updated, and
    //    Lever's webhook for that change is not echoed back.
    let moved = partner
        .ok(
            "PUT",
            "/connections/acme/candidates/cand-1001/stage",
            Some(json!({ "stage": "offer" })),
        )
        .await?;
    let echo = loop {
        let delivery = tokio::time::timeout(WAIT, deliveries.recv())
            .await
            .context("no Lever delivery")??;
        if delivery.event == "candidateStageChange" {
            break delivery;
        }
    };
    line(out, format!(
        "5. The partner moves cand-1001 to \"offer\": Lever stage {} (changed: {}); Lever's webhook for it answers {}",
        moved["leverStageId"].as_str().unwrap_or("?"),
        moved["changed"],
        echo.response,
    ))?;
    ensure!(
        sims.partner.received().len() == 2,
        "the partner's own move was echoed back"
    );

    // 6. A delivery signed for Acme, posted to Globex's URL, is refused.
    let acme_delivery = acme_delivery.context("no delivery for Acme")?;
    let crossed = HttpClient::default()
        .post_json(
            &format!("{connector_url}/webhooks/lever/globex"),
            &[],
            &acme_delivery.body,
        )
        .await?;
    line(
        out,
        format!(
            "6. Acme's signed delivery replayed at Globex's URL: {} {}",
            crossed.status,
            crossed.text()
        ),
    )?;
    ensure!(
        crossed.status == 401,
        "a cross-connection delivery was accepted"
    );

    // 7. Disconnect Globex.
    let disconnected = partner.ok("DELETE", "/connections/globex", None).await?;
    let removed = disconnected["disconnected"]["removedWebhooks"]
        .as_array()
        .map_or(0, Vec::len);
    let after = partner
        .call("GET", "/connections/globex/lever/stages", None)
        .await?;
    line(out, format!(
        "7. Globex disconnects: {removed} webhooks deleted in Lever, tokens dropped; its calls now answer {} ({})",
        after.status,
        after.json()["error"]["message"].as_str().unwrap_or("?"),
    ))?;
    ensure!(
        after.status == 503,
        "a disconnected connection still answered"
    );
    let still = partner.ok("GET", "/connections/acme", None).await?;
    ensure!(still["auth"] == "oauth", "acme lost its connection");

    let verified = sims
        .partner
        .received()
        .iter()
        .filter(|e| e.verified)
        .count();
    ensure!(
        verified == 2,
        "the partner received {verified} events instead of 2"
    );
    line(out, "\nDone: 2 connections, 2 uploads, 2 verified partner events, no echo, nothing crossed between them; Acme is still connected.")?;
    Ok(())
}
