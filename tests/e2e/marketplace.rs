//! Marketplace sync: candidates uploaded to Lever once, and their state kept in step both
//! ways, per connection.

use base64::Engine as _;
use lever_host::sim::lever::{ACME, GLOBEX};
use serde_json::{json, Value};

use crate::harness::*;

/// Acme's default upload stage: the first screen/interview stage after leads and applicants.
const ACME_SCREEN: &str = "9f1c2a20-screen";
const GLOBEX_SCREEN: &str = "7d2e4c10-a1b2-4c3d-8e9f-000000000001";
const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n";

impl World {
    /// Acme ready for uploads: perform-as, role `role-rust` → the Rust posting.
    async fn ready_for_uploads(&self) {
        self.ok(
            "PUT",
            "/connections/acme/perform-as",
            Some(json!({ "userId": RECRUITER })),
        )
        .await;
        self.ok(
            "PUT",
            "/connections/acme/roles/role-rust",
            Some(json!({ "postingId": RUST_POSTING })),
        )
        .await;
    }

    async fn globex_ready_for_uploads(&self) {
        self.ok(
            "PUT",
            "/connections/globex/perform-as",
            Some(json!({ "userId": "globex-user-1" })),
        )
        .await;
        self.ok(
            "PUT",
            "/connections/globex/roles/role-orbital",
            Some(json!({ "postingId": "globex-posting-1" })),
        )
        .await;
    }

    async fn submit(&self, connection: &str, body: Value) -> lever_host::http_util::ClientResponse {
        self.call(
            "POST",
            &format!("/connections/{connection}/candidates"),
            Some(body),
        )
        .await
    }
}

/// Waits for `count` Lever deliveries, each answered 200.
async fn settle(
    deliveries: &mut tokio::sync::broadcast::Receiver<lever_host::sim::lever::DeliveryAttempt>,
    count: usize,
) {
    for _ in 0..count {
        let d = tokio::time::timeout(WAIT, deliveries.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(d.status, Some(200), "{}: {}", d.event, d.response);
    }
}

fn candidate(id: &str, email: &str) -> Value {
    json!({
        "partnerCandidateId": id,
        "partnerRoleId": "role-rust",
        "name": "Grace Brewster",
        "emails": [email],
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upload_with_every_field_lands_on_the_posting_at_the_default_stage() {
    let world = World::start().await;
    world.ready_for_uploads().await;
    world
        .ok(
            "PUT",
            "/connections/acme/upload-tags",
            Some(json!(["via-partner"])),
        )
        .await;
    let response = world
        .submit(
            "acme",
            json!({
                "partnerCandidateId": "cand-1001",
                "partnerRoleId": "role-rust",
                "name": "Katherine Coleman",
                "emails": ["katherine.coleman@example.com"],
                "phones": [{ "type": "mobile", "value": "+1 555 0101" }],
                "linkedinUrl": "https://www.linkedin.com/in/kcoleman",
                "applicationUrl": "https://partner.example/applications/1001",
                "note": "Strong systems background; available in March.",
                "resume": {
                    "fileName": "katherine-coleman.pdf",
                    "contentBase64": base64::engine::general_purpose::STANDARD.encode(PDF),
                },
            }),
        )
        .await;
    assert_eq!(response.status, 201, "{}", response.text());
    let answer = response.json();
    assert_eq!(answer["connectionId"], "acme");
    assert_eq!(answer["created"], true);
    assert_eq!(answer["deduped"], false);
    assert_eq!(answer["stageId"], ACME_SCREEN);
    assert_eq!(answer["postingId"], RUST_POSTING);
    let id = answer["opportunityId"].as_str().unwrap();
    assert!(answer["url"].as_str().unwrap().ends_with(id));

    let opportunity = world.sims.lever.opportunity(id).unwrap();
    assert_eq!(opportunity["name"], "Katherine Coleman");
    assert_eq!(opportunity["stage"], ACME_SCREEN);
    assert_eq!(opportunity["origin"], "agency");
    assert_eq!(opportunity["sources"], json!(["Partner"]));
    assert_eq!(
        opportunity["emails"],
        json!(["katherine.coleman@example.com"])
    );
    assert_eq!(
        opportunity["phones"],
        json!([{ "type": "mobile", "value": "+1 555 0101" }])
    );
    assert_eq!(
        opportunity["links"],
        json!([
            "https://www.linkedin.com/in/kcoleman",
            "https://partner.example/applications/1001"
        ])
    );
    let tags = opportunity["tags"].as_array().unwrap();
    assert!(tags.contains(&json!("via-partner")) && tags.contains(&json!("Senior Rust Engineer")));
    assert_eq!(opportunity["applications"].as_array().unwrap().len(), 1);
    let resume = world.sims.lever.resume(id).unwrap();
    assert_eq!(resume["name"], "katherine-coleman.pdf");
    assert_eq!(resume["contentType"], "application/pdf");
    assert_eq!(resume["size"], PDF.len());
    let notes = world.sims.lever.notes(id);
    assert_eq!(notes.len(), 1);
    // Lever keeps a note's text in its first field (its `text` is the form's name, "Note").
    assert_eq!(
        notes[0]["fields"][0]["value"],
        "Strong systems background; available in March."
    );
    assert_eq!(notes[0]["user"], RECRUITER);
    // Linked both ways.
    let link = world
        .ok("GET", "/connections/acme/candidates/cand-1001/link", None)
        .await;
    assert_eq!(link["opportunityId"], id);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_default_stage_follows_each_connections_own_pipeline() {
    let world = World::start().await;
    world.set_up_globex().await;
    world.ready_for_uploads().await;
    world.globex_ready_for_uploads().await;
    let acme = world
        .submit("acme", candidate("cand-2001", "two@example.com"))
        .await;
    let mut globex_candidate = candidate("cand-2001", "two@example.com");
    globex_candidate["partnerRoleId"] = json!("role-orbital");
    let globex = world.submit("globex", globex_candidate).await;
    assert_eq!(acme.status, 201, "{}", acme.text());
    assert_eq!(globex.status, 201, "{}", globex.text());
    assert_eq!(acme.json()["stageId"], ACME_SCREEN);
    assert_eq!(globex.json()["stageId"], GLOBEX_SCREEN);
    // The same candidate on two companies: two independent opportunities, one per account.
    let acme_id = acme.json()["opportunityId"].as_str().unwrap().to_string();
    let globex_id = globex.json()["opportunityId"].as_str().unwrap().to_string();
    assert_ne!(acme_id, globex_id);
    assert!(world
        .sims
        .lever
        .opportunities(ACME)
        .iter()
        .any(|o| o["id"] == acme_id.as_str()));
    assert!(world
        .sims
        .lever
        .opportunities(GLOBEX)
        .iter()
        .any(|o| o["id"] == globex_id.as_str()));
    // A chosen upload stage wins over the rule.
    world
        .ok(
            "PUT",
            "/connections/acme/upload-stage",
            Some(json!({ "stageId": PHONE })),
        )
        .await;
    let chosen = world
        .submit("acme", candidate("cand-2002", "three@example.com"))
        .await;
    assert_eq!(chosen.json()["stageId"], PHONE);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resubmission_creates_nothing_even_after_a_first_attempt_that_died_half_way() {
    let world = World::start().await;
    world.ready_for_uploads().await;
    let before = world.sims.lever.opportunities(ACME).len();
    let first = world
        .submit("acme", candidate("cand-3001", "once@example.com"))
        .await;
    assert_eq!(first.status, 201);
    let again = world
        .submit("acme", candidate("cand-3001", "once@example.com"))
        .await;
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(again.json()["created"], false);
    assert_eq!(again.json()["opportunityId"], first.json()["opportunityId"]);
    assert_eq!(world.sims.lever.opportunities(ACME).len(), before + 1);

    // Lever creates the opportunity but the answer is lost (a 500).
    world.sims.lever.fail_after_create(ACME, 1);
    let lost = world
        .submit("acme", candidate("cand-3002", "lost@example.com"))
        .await;
    assert_eq!(lost.status, 502, "{}", lost.text());
    assert_eq!(world.sims.lever.opportunities(ACME).len(), before + 2);
    let retried = world
        .submit("acme", candidate("cand-3002", "lost@example.com"))
        .await;
    assert_eq!(retried.status, 200, "{}", retried.text());
    assert_eq!(
        world.sims.lever.opportunities(ACME).len(),
        before + 2,
        "found again, not created twice"
    );
    let id = retried.json()["opportunityId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        world.sims.lever.opportunity(&id).unwrap()["emails"],
        json!(["lost@example.com"])
    );
    let link = world
        .ok("GET", "/connections/acme/candidates/cand-3002/link", None)
        .await;
    assert_eq!(link["opportunityId"], id.as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn lever_dedupe_by_email_is_reported_and_bad_submissions_get_clear_errors() {
    let world = World::start().await;
    world.ready_for_uploads().await;
    let ada = world
        .submit("acme", candidate("cand-4001", "ada@example.com"))
        .await;
    assert_eq!(ada.status, 201, "{}", ada.text());
    assert_eq!(ada.json()["deduped"], true);
    let id = ada.json()["opportunityId"].as_str().unwrap().to_string();
    assert_ne!(id, ADA, "a new opportunity on the existing contact");
    assert_eq!(
        world.sims.lever.opportunity(&id).unwrap()["contact"],
        ADA_CONTACT
    );

    let mut unlinked = candidate("cand-4002", "x@example.com");
    unlinked["partnerRoleId"] = json!("role-nobody-linked");
    let response = world.submit("acme", unlinked).await;
    assert_eq!(response.status, 404);
    assert!(error_code(&response).1.contains("role-nobody-linked"));

    let mut bad_file = candidate("cand-4003", "y@example.com");
    bad_file["resume"] = json!({ "fileName": "cv.exe", "contentBase64": "AAAA" });
    let response = world.submit("acme", bad_file).await;
    assert_eq!(response.status, 400);
    assert!(error_code(&response).1.contains("pdf, doc, docx"));

    let mut no_name = candidate("cand-4004", "z@example.com");
    no_name["name"] = json!("");
    assert_eq!(world.submit("acme", no_name).await.status, 400);
    assert_eq!(
        world.submit("acme", json!({ "name": "x" })).await.status,
        400
    );

    // Without perform_as, uploads (writes) are not configured, naming the setting.
    let world = World::start().await;
    world
        .ok(
            "PUT",
            "/connections/acme/roles/role-rust",
            Some(json!({ "postingId": RUST_POSTING })),
        )
        .await;
    let response = world
        .submit("acme", candidate("cand-4005", "w@example.com"))
        .await;
    assert_eq!(response.status, 503);
    assert!(
        error_code(&response).1.contains("perform_as"),
        "{}",
        response.text()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn lever_archive_hire_unarchive_and_delete_reach_the_partner_once_each() {
    let world = World::start().await;
    let mut deliveries = world.sims.lever.subscribe();
    // Archived for a non-hired reason.
    world
        .sims
        .lever
        .archive(ADA, Some("73ee66c3-b0a0-4f8c-a96a-33d8c091bc53"));
    settle(&mut deliveries, 1).await;
    // Unarchived.
    world.sims.lever.archive(ADA, None);
    settle(&mut deliveries, 1).await;
    // Hired: Lever sends both candidateArchiveChange and candidateHired; one event. When
    // they arrive together, one reports and the other, finding the report in progress, is
    // queued (202) and finds it done when the outbox retries it.
    world
        .sims
        .lever
        .archive(ADA, Some("63dd55b2-a99f-4e7b-985f-22c7bf80ab42"));
    for _ in 0..2 {
        let d = tokio::time::timeout(WAIT, deliveries.recv())
            .await
            .unwrap()
            .unwrap();
        match d.status {
            Some(200) => {}
            Some(202) => assert!(
                d.response.contains("another delivery is reporting"),
                "{}",
                d.response
            ),
            other => panic!("{}: {other:?} {}", d.event, d.response),
        }
    }
    world
        .connector
        .advance_clock(std::time::Duration::from_secs(60));
    let tick = world.connector.tick().await.unwrap().unwrap();
    assert_eq!(tick["waiting"], 0, "{tick}");
    // Lever's test ping.
    let ping = world.post(&world.signed("candidateHired", json!({}))).await;
    assert_eq!(ping.status, 200);
    assert_eq!(ping.json()["skipped"]["reason"], "ping");
    // Deleted.
    assert!(world.sims.lever.delete_opportunity(ADA));
    settle(&mut deliveries, 1).await;

    let events = world.partner_events();
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "candidate.archived",
            "candidate.unarchived",
            "candidate.hired",
            "candidate.deleted"
        ]
    );
    assert_eq!(events[0]["data"]["reason"], "Underqualified");
    assert_eq!(events[0]["data"]["partnerCandidateId"], "cand-ada");
    assert_eq!(events[1]["data"]["leverStageId"], ONSITE);
    assert_eq!(events[2]["data"]["reason"], "Hired");
    assert_eq!(events[3]["data"]["leverOpportunityId"], ADA);
    assert!(events.iter().all(|e| e["connectionId"] == "acme"));
}

#[tokio::test(flavor = "multi_thread")]
async fn partner_moves_and_rejections_reach_lever_and_are_not_echoed_back() {
    let world = World::start().await;
    world.ready_for_uploads().await;
    let mut deliveries = world.sims.lever.subscribe();

    // The explicit map: "offer" ← 9f1c2a23-offer.
    let moved = world
        .ok(
            "PUT",
            "/connections/acme/candidates/cand-ada/stage",
            Some(json!({ "stage": "offer" })),
        )
        .await;
    assert_eq!(moved["leverStageId"], OFFER);
    assert_eq!(moved["changed"], true);
    assert_eq!(world.sims.lever.opportunity(ADA).unwrap()["stage"], OFFER);
    let echo = tokio::time::timeout(WAIT, deliveries.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(echo.status, Some(200));
    let answer: Value = serde_json::from_str(&echo.response).unwrap();
    assert_eq!(answer["skipped"]["reason"], "already-reported", "{answer}");
    assert!(world.partner_events().is_empty(), "no echo to the partner");

    // The same state again writes nothing to Lever.
    let again = world
        .ok(
            "PUT",
            "/connections/acme/candidates/cand-ada/stage",
            Some(json!({ "stage": "Offer" })),
        )
        .await;
    assert_eq!(again["changed"], false);

    // By name, case and punctuation aside: "recruiter-screen" is "Recruiter screen".
    let by_name = world
        .ok(
            "PUT",
            "/connections/acme/candidates/cand-ada/stage",
            Some(json!({ "stage": "recruiter-screen" })),
        )
        .await;
    assert_eq!(by_name["leverStageId"], ACME_SCREEN);
    tokio::time::timeout(WAIT, deliveries.recv())
        .await
        .unwrap()
        .unwrap();

    // A stage that maps to nothing is an error naming it.
    let unknown = world
        .call(
            "PUT",
            "/connections/acme/candidates/cand-ada/stage",
            Some(json!({ "stage": "Reference check" })),
        )
        .await;
    assert_eq!(unknown.status, 400);
    assert!(error_code(&unknown).1.contains("Reference check"));

    // A rejection archives with the matching reason; Lever's webhook is not echoed.
    let rejected = world
        .ok(
            "PUT",
            "/connections/acme/candidates/cand-ada/stage",
            Some(json!({ "rejected": true, "reason": "underqualified" })),
        )
        .await;
    assert_eq!(
        rejected["archiveReasonId"],
        "73ee66c3-b0a0-4f8c-a96a-33d8c091bc53"
    );
    assert!(world.sims.lever.opportunity(ADA).unwrap()["archived"]["reason"].is_string());
    let echo = tokio::time::timeout(WAIT, deliveries.recv())
        .await
        .unwrap()
        .unwrap();
    let answer: Value = serde_json::from_str(&echo.response).unwrap();
    assert_eq!(answer["skipped"]["reason"], "already-reported", "{answer}");
    assert!(world.partner_events().is_empty());

    // A rejection without a matching reason needs the configured one.
    let unmatched = world
        .call(
            "PUT",
            "/connections/acme/candidates/cand-ada/stage",
            Some(json!({ "rejected": true, "reason": "went quiet" })),
        )
        .await;
    assert_eq!(unmatched.status, 503);
    assert!(error_code(&unmatched).1.contains("rejection reason"));
    let hired_reason = world
        .call(
            "PUT",
            "/connections/acme/rejection-reason",
            Some(json!({ "archiveReasonId": "63dd55b2-a99f-4e7b-985f-22c7bf80ab42" })),
        )
        .await;
    assert_eq!(hired_reason.status, 400, "a hired reason is no rejection");

    // Unlinked candidates are not found.
    let unlinked = world
        .call(
            "PUT",
            "/connections/acme/candidates/nobody/stage",
            Some(json!({ "stage": "offer" })),
        )
        .await;
    assert_eq!(unlinked.status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_late_out_of_order_webhook_never_moves_a_candidate_backwards() {
    let world = World::start().await;
    let mut deliveries = world.sims.lever.subscribe();
    world.sims.lever.move_stage(ADA, OFFER);
    tokio::time::timeout(WAIT, deliveries.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        world.partner_events().last().unwrap()["data"]["stage"],
        "offer"
    );
    // An older change (to the phone interview) arrives late.
    let late = world
        .post(&world.signed(
            "candidateStageChange",
            json!({ "opportunityId": ADA, "fromStageId": ONSITE, "toStageId": PHONE }),
        ))
        .await;
    assert_eq!(late.status, 200, "{}", late.text());
    assert_eq!(late.json()["skipped"]["reason"], "already-reported");
    let events = world.partner_events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["data"]["stage"], "offer");
}

#[tokio::test(flavor = "multi_thread")]
async fn reconciliation_repairs_a_missed_webhook_and_status_shows_stage_drift() {
    let world = World::start().await;
    // Ada was linked by hand: the first run reports her current stage.
    let first = world.ok("POST", "/connections/acme/reconcile", None).await;
    assert_eq!(first["fixed"], 1, "{first}");
    assert_eq!(world.partner_events()[0]["data"]["stage"], "onsite");
    // The webhook is gone (someone deleted it in Lever): the change is missed.
    for hook in world.sims.lever.webhooks(ACME) {
        world
            .sims
            .lever
            .delete_webhook(hook["id"].as_str().unwrap());
    }
    world.sims.lever.move_stage(ADA, OFFER);
    assert_eq!(world.partner_events().len(), 1);
    let repaired = world.ok("POST", "/connections/acme/reconcile", None).await;
    assert_eq!(repaired["tracked"], 1, "{repaired}");
    assert_eq!(repaired["fixed"], 1, "{repaired}");
    let events = world.partner_events();
    assert_eq!(events.len(), 2);
    assert_eq!(events[1]["data"]["stage"], "offer");
    let again = world.ok("POST", "/connections/acme/reconcile", None).await;
    assert_eq!(again["fixed"], 0);
    assert_eq!(world.partner_events().len(), 2);

    // Drift: a mapped stage renamed, another removed; status says so before a write fails.
    world.sims.lever.rename_stage(ACME, OFFER, "Offer extended");
    world.sims.lever.remove_stage(ACME, PHONE);
    let status = world.ok("GET", "/connections/acme", None).await;
    let problems = status["problems"].to_string();
    assert!(
        problems.contains("renamed from \\\"Offer\\\" to \\\"Offer extended\\\""),
        "{problems}"
    );
    assert!(
        problems.contains(PHONE) && problems.contains("no longer exists"),
        "{problems}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_submissions_on_two_connections_make_exactly_fifty_opportunities() {
    let world = World::start().await;
    world.set_up_globex().await;
    world.ready_for_uploads().await;
    world.globex_ready_for_uploads().await;
    let acme_before = world.sims.lever.opportunities(ACME).len();
    let globex_before = world.sims.lever.opportunities(GLOBEX).len();
    let run = |connection: &'static str, role: &'static str| {
        let world = &world;
        async move {
            let mut ids = Vec::new();
            for i in 0..25 {
                let mut body = candidate(
                    &format!("bulk-{i}"),
                    &format!("bulk-{i}@{connection}.example"),
                );
                body["partnerRoleId"] = json!(role);
                let mut answer = world.submit(connection, body.clone()).await;
                // Lever's rate limit can outlast the connector's bounded retries: resubmit,
                // as a partner would; idempotency keeps it to one opportunity.
                while answer.status == 429 {
                    answer = world.submit(connection, body.clone()).await;
                }
                assert!(matches!(answer.status, 200 | 201), "{}", answer.text());
                ids.push(answer.json()["opportunityId"].as_str().unwrap().to_string());
            }
            ids
        }
    };
    let (acme_ids, globex_ids) =
        tokio::join!(run("acme", "role-rust"), run("globex", "role-orbital"));
    assert_eq!(world.sims.lever.opportunities(ACME).len(), acme_before + 25);
    assert_eq!(
        world.sims.lever.opportunities(GLOBEX).len(),
        globex_before + 25
    );
    let acme: Vec<String> = world
        .sims
        .lever
        .opportunities(ACME)
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_string())
        .collect();
    assert!(acme_ids.iter().all(|id| acme.contains(id)));
    assert!(globex_ids.iter().all(|id| !acme.contains(id)));
    for i in 0..25 {
        for connection in ["acme", "globex"] {
            world
                .ok(
                    "GET",
                    &format!("/connections/{connection}/candidates/bulk-{i}/link"),
                    None,
                )
                .await;
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_typed_face_uploads_and_moves_the_same_way() {
    use lever_host::runtime::bindings::exports::lever::connector::partner;
    let world = World::start().await;
    world.ready_for_uploads().await;
    let submission = partner::CandidateSubmission {
        partner_candidate_id: "cand-typed".into(),
        partner_role_id: "role-rust".into(),
        name: "Typed Candidate".into(),
        emails: vec!["typed@example.com".into()],
        phones: vec![],
        linkedin_url: None,
        application_url: None,
        note: None,
        resume: Some(partner::Resume {
            file_name: "cv.txt".into(),
            content_type: None,
            source: partner::ResumeSource::Bytes(b"plain text resume".to_vec()),
        }),
    };
    let (mut store, instance) = world.connector.typed().await.unwrap();
    let uploaded = instance
        .lever_connector_partner()
        .call_submit_candidate(&mut store, &"acme".to_string(), &submission)
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(uploaded.created);
    assert_eq!(uploaded.stage_id, ACME_SCREEN);
    assert_eq!(
        world.sims.lever.resume(&uploaded.opportunity_id).unwrap()["contentType"],
        "text/plain"
    );
    let (mut store, instance) = world.connector.typed().await.unwrap();
    let moved = instance
        .lever_connector_partner()
        .call_set_candidate_stage(
            &mut store,
            &"acme".to_string(),
            &"cand-typed".to_string(),
            &partner::CandidateMove::Stage("onsite".into()),
        )
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(moved.lever_stage_id, ONSITE);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resume_given_by_url_is_fetched_from_an_allowed_host_only() {
    // The partner's file server, on loopback.
    let listener = lever_host::http_util::bind_loopback(None).await.unwrap();
    let files = format!("http://{}", listener.local_addr().unwrap());
    let authority = files.trim_start_matches("http://").to_string();
    let _server = lever_host::http_util::serve(listener, |request| async move {
        if request.path == "/cv.pdf" {
            lever_host::http_util::SimResponse::bytes(200, "application/pdf", PDF.to_vec())
        } else {
            lever_host::http_util::SimResponse::empty(404)
        }
    });
    let body = |id: &str, url: String| {
        let mut body = candidate(id, &format!("{id}@example.com"));
        body["resume"] = json!({ "fileName": "cv.pdf", "url": url });
        body
    };

    // Not on the host's allow-list: refused, nothing created.
    let world = World::start().await;
    world.ready_for_uploads().await;
    let before = world.sims.lever.opportunities(ACME).len();
    let refused = world
        .submit("acme", body("cand-url-1", format!("{files}/cv.pdf")))
        .await;
    assert_eq!(refused.status, 400, "{}", refused.text());
    assert!(
        error_code(&refused).1.contains("refused"),
        "{}",
        refused.text()
    );
    assert_eq!(world.sims.lever.opportunities(ACME).len(), before);

    // Allowed: fetched and uploaded.
    let world = World::start_with(|settings| {
        settings.allowed_outbound.insert(authority.clone());
    })
    .await;
    world.ready_for_uploads().await;
    let uploaded = world
        .submit("acme", body("cand-url-2", format!("{files}/cv.pdf")))
        .await;
    assert_eq!(uploaded.status, 201, "{}", uploaded.text());
    let id = uploaded.json()["opportunityId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(world.sims.lever.resume(&id).unwrap()["size"], PDF.len());
    let missing = world
        .submit("acme", body("cand-url-3", format!("{files}/nope.pdf")))
        .await;
    assert_eq!(missing.status, 400);
    assert!(error_code(&missing).1.contains("404"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_host_reconciles_every_connection_on_an_interval() {
    let world = World::start().await;
    world.set_up_globex().await;
    world
        .ok(
            "PUT",
            "/connections/globex/candidates/cand-kj/link",
            Some(json!({ "opportunityId": KATHERINE })),
        )
        .await;
    // Both accounts' webhooks are gone: changes are missed.
    for account in [ACME, GLOBEX] {
        for hook in world.sims.lever.webhooks(account) {
            world
                .sims
                .lever
                .delete_webhook(hook["id"].as_str().unwrap());
        }
    }
    let mut events = world.sims.partner.subscribe();
    world.sims.lever.move_stage(ADA, OFFER);
    world.sims.lever.move_stage(KATHERINE, GLOBEX_TECH);
    let _reconciler = world
        .connector
        .spawn_reconciler(std::time::Duration::from_millis(200));
    let mut seen = std::collections::BTreeSet::new();
    while !(seen.contains("acme:offer") && seen.contains("globex:interviewing")) {
        let event = tokio::time::timeout(WAIT, events.recv())
            .await
            .unwrap()
            .unwrap();
        seen.insert(format!(
            "{}:{}",
            event.body["connectionId"].as_str().unwrap(),
            event.body["data"]["stage"].as_str().unwrap()
        ));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn uploads_reuse_levers_stages_for_a_few_minutes_to_spare_the_rate_limit() {
    let world = World::start().await;
    world.ready_for_uploads().await;
    let faults = world.sims.lever.faults();
    // Counting only: no faults.
    faults.set(Some(lever_host::sim::faults::FaultRates::even(1, 0.0, 0)));
    let upload = |id: &'static str, email: &'static str| {
        let world = &world;
        async move {
            let before = world.sims.lever.faults().counts().requests;
            let answer = world.submit("acme", candidate(id, email)).await;
            assert_eq!(answer.status, 201, "{}", answer.text());
            assert_eq!(answer.json()["stageId"], ACME_SCREEN);
            world.sims.lever.faults().counts().requests - before
        }
    };
    // Setting the connection up read Lever's stages: an upload within five minutes only
    // creates the opportunity (the default-stage rule uses the stages already read).
    assert_eq!(upload("cand-3001", "ada.one@example.com").await, 1);
    // Five minutes on, the next upload reads them again, and the one after reuses them.
    world
        .connector
        .advance_clock(std::time::Duration::from_secs(5 * 60 + 1));
    assert_eq!(upload("cand-3002", "ada.two@example.com").await, 2);
    assert_eq!(upload("cand-3003", "ada.three@example.com").await, 1);
    faults.set(None);
}
