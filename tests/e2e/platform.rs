//! The integration-platform surface: nine actions, the proxy, pagination, rate limits and
//! triggers, per connection.

use std::collections::BTreeSet;

use lever_host::sim::lever::ACME;
use serde_json::{json, Value};

use crate::harness::*;

impl World {
    async fn action(&self, action: &str, body: Value) -> lever_host::http_util::ClientResponse {
        self.call(
            "POST",
            &format!("/connections/acme/actions/{action}"),
            Some(body),
        )
        .await
    }

    async fn with_perform_as(self) -> Self {
        self.set_perform_as().await;
        self
    }
}

/// Asserts an `upstream` error that keeps Lever's status and message.
fn lever_said(response: &lever_host::http_util::ClientResponse, status: u16, words: &str) {
    assert_eq!(response.status, 502, "{}", response.text());
    let body = response.json();
    assert_eq!(body["error"]["service"], "lever");
    assert_eq!(body["error"]["status"], status);
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains(words), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_opportunity_and_contact_actions_work_and_keep_levers_errors() {
    let world = World::start().await.with_perform_as().await;
    // Create Opportunity.
    let created = world
        .action(
            "create-opportunity",
            json!({ "name": "Dorothy Vaughan", "emails": ["dorothy@example.com"], "origin": "sourced",
                    "posting": RUST_POSTING, "stage": PHONE, "tags": ["platform"] }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    assert_eq!(created.json()["deduped"], false);
    let id = created.json()["data"]["id"].as_str().unwrap().to_string();
    assert_eq!(created.json()["data"]["stage"], PHONE);
    lever_said(
        &world
            .action(
                "create-opportunity",
                json!({ "name": "X", "origin": "teleport" }),
            )
            .await,
        400,
        "Invalid origin",
    );
    // Get Opportunity by ID.
    let got = world.action("get-opportunity", json!({ "id": id })).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.json()["data"]["name"], "Dorothy Vaughan");
    let missing = world
        .action("get-opportunity", json!({ "id": "no-such-id" }))
        .await;
    assert_eq!(missing.status, 404);
    assert!(error_code(&missing).1.contains("ResourceNotFound"));
    // Get Opportunities with filters.
    let listed = world
        .action(
            "list-opportunities",
            json!({ "filter": { "email": "dorothy@example.com", "tag": ["platform"] } }),
        )
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text());
    let data = listed.json()["data"].as_array().unwrap().clone();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["id"], id.as_str());
    let staged = world
        .action(
            "list-opportunities",
            json!({ "filter": { "stageId": ONSITE } }),
        )
        .await;
    assert_eq!(staged.json()["data"].as_array().unwrap().len(), 1, "Ada");
    assert_eq!(
        world
            .action(
                "list-opportunities",
                json!({ "page": { "cursor": "junk" } })
            )
            .await
            .status,
        400
    );
    // Get Contact by ID, Update Contact.
    let contact = world
        .action("get-contact", json!({ "id": ADA_CONTACT }))
        .await;
    assert_eq!(contact.status, 200, "{}", contact.text());
    assert_eq!(contact.json()["data"]["name"], "Ada Lovelace");
    assert_eq!(contact.json()["data"]["location"]["name"], "London");
    let updated = world
        .action("update-contact", json!({ "id": ADA_CONTACT, "changes": { "headline": "Poetical Science", "location": "Marylebone" } }))
        .await;
    assert_eq!(updated.status, 200, "{}", updated.text());
    assert_eq!(updated.json()["data"]["headline"], "Poetical Science");
    assert_eq!(
        updated.json()["data"]["name"],
        "Ada Lovelace",
        "fields left out are kept"
    );
    assert_eq!(updated.json()["data"]["location"]["name"], "Marylebone");
    assert_eq!(
        world
            .action(
                "update-contact",
                json!({ "id": "nobody", "changes": { "name": "X" } })
            )
            .await
            .status,
        404
    );
    assert_eq!(
        world
            .action("get-contact", json!({ "id": "nobody" }))
            .await
            .status,
        404
    );
    assert_eq!(world.action("no-such-action", json!({})).await.status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_posting_actions_work_and_keep_levers_errors() {
    let world = World::start().await;
    // Without perform_as, writes name it.
    let refused = world
        .action("create-posting", json!({ "text": "Staff Engineer" }))
        .await;
    assert_eq!(refused.status, 503);
    assert!(error_code(&refused).1.contains("perform_as"));
    let world = world.with_perform_as().await;
    let created = world
        .action(
            "create-posting",
            json!({ "text": "Staff Engineer", "state": "published", "categories": { "team": "Platform", "location": "Remote" },
                    "tags": ["rust"], "description": "Build the connector.", "workplaceType": "remote" }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let posting = created.json()["data"].clone();
    let id = posting["id"].as_str().unwrap().to_string();
    assert_eq!(posting["user"], RECRUITER);
    assert_eq!(posting["content"]["description"], "Build the connector.");
    lever_said(
        &world
            .action("create-posting", json!({ "text": "X", "state": "limbo" }))
            .await,
        400,
        "Invalid state",
    );
    // Update Posting: partial.
    let updated = world
        .action(
            "update-posting",
            json!({ "id": id, "changes": { "text": "Principal Engineer" } }),
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.text());
    assert_eq!(updated.json()["data"]["text"], "Principal Engineer");
    assert_eq!(
        updated.json()["data"]["categories"]["team"],
        "Platform",
        "kept"
    );
    lever_said(
        &world
            .action(
                "update-posting",
                json!({ "id": id, "changes": { "workplaceType": "unspecified" } }),
            )
            .await,
        400,
        "unspecified",
    );
    // Get Posting by ID, Get Postings.
    assert_eq!(
        world
            .action("get-posting", json!({ "id": id }))
            .await
            .json()["data"]["text"],
        "Principal Engineer"
    );
    assert_eq!(
        world
            .action("get-posting", json!({ "id": "nope" }))
            .await
            .status,
        404
    );
    let closed = world
        .action("list-postings", json!({ "filter": { "state": "closed" } }))
        .await;
    assert_eq!(closed.json()["data"].as_array().unwrap().len(), 1);
    let platform = world
        .action("list-postings", json!({ "filter": { "team": "Platform" } }))
        .await;
    let platform = platform.json();
    let texts: Vec<&str> = platform["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["text"].as_str().unwrap())
        .collect();
    assert!(texts.contains(&"Principal Engineer"), "{texts:?}");
    let mixed = world
        .action(
            "list-postings",
            json!({ "filter": { "team": "Platform", "updatedAtStart": 1 } }),
        )
        .await;
    assert_eq!(mixed.status, 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn lists_page_through_hundreds_of_records_and_resume_after_an_expired_token() {
    let world = World::start().await.with_perform_as().await;
    world.sims.lever.seed_opportunities(ACME, 250);
    let total = world.sims.lever.opportunities(ACME).len();
    assert_eq!(total, 251);

    // Every page up to N in one call.
    let all = world
        .action(
            "list-opportunities",
            json!({ "page": { "allPagesUpTo": 1000 } }),
        )
        .await;
    assert_eq!(all.status, 200, "{}", all.text());
    assert_eq!(all.json()["data"].as_array().unwrap().len(), 251);
    assert_eq!(all.json()["hasNext"], false);

    // Page by page, with Lever's offset token expiring between pages 1 and 2.
    let mut seen = Vec::new();
    let first = world
        .action("list-opportunities", json!({ "page": { "limit": 100 } }))
        .await
        .json();
    seen.extend(
        first["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_str().unwrap().to_string()),
    );
    let mut cursor = first["next"].as_str().unwrap().to_string();
    world.sims.lever.expire_offset_tokens(ACME);
    // A record created after the read began stays out of its window.
    let late = world
        .action("create-opportunity", json!({ "name": "Created Mid-Read" }))
        .await;
    assert_eq!(late.status, 201, "{}", late.text());
    loop {
        let page = world
            .action(
                "list-opportunities",
                json!({ "page": { "limit": 100, "cursor": cursor } }),
            )
            .await;
        assert_eq!(page.status, 200, "{}", page.text());
        let page = page.json();
        seen.extend(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["id"].as_str().unwrap().to_string()),
        );
        match page["next"].as_str() {
            Some(next) => cursor = next.to_string(),
            None => break,
        }
    }
    let distinct: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(seen.len(), 251, "no record lost or repeated");
    assert_eq!(distinct.len(), 251);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_proxy_reaches_lever_only_below_the_api_root() {
    let world = World::start().await.with_perform_as().await;
    let base = format!("{}/connections/acme/proxy", world.served.url());
    let auth = ("authorization", "Bearer sim-partner-api-key");
    let stages = world
        .client
        .get(&format!("{base}/stages?limit=2"), &[auth])
        .await
        .unwrap();
    assert_eq!(stages.status, 200, "{}", stages.text());
    assert_eq!(stages.json()["data"].as_array().unwrap().len(), 2);
    assert_eq!(stages.json()["hasNext"], true);
    // A write with perform_as injected.
    let note = world
        .client
        .send(
            "POST",
            &format!("{base}/opportunities/{ADA}/notes"),
            &[
                auth,
                ("lever-perform-as", "true"),
                ("content-type", "application/json"),
            ],
            json!({ "value": "Called back" }).to_string(),
        )
        .await
        .unwrap();
    assert_eq!(note.status, 201, "{}", note.text());
    assert_eq!(world.sims.lever.notes(ADA)[0]["user"], RECRUITER);
    // Lever's errors come back as they are.
    let missing = world
        .client
        .get(&format!("{base}/opportunities/nope"), &[auth])
        .await
        .unwrap();
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["code"], "ResourceNotFound");
    // Nothing outside the API root.
    for path in [
        "/..%2F..%2Fadmin",
        "/%2e%2e/oauth/token",
        "/stages/%2E%2E",
        "/https:%2F%2Fevil.example",
        "/a%252e%252e",
    ] {
        let refused = world
            .client
            .get(&format!("{base}{path}"), &[auth])
            .await
            .unwrap();
        assert_eq!(refused.status, 400, "{path}: {}", refused.text());
        assert_eq!(error_code(&refused).0, "invalid-input");
    }
    // The partner credential is still required.
    assert_eq!(
        world
            .client
            .get(&format!("{base}/stages"), &[])
            .await
            .unwrap()
            .status,
        401
    );
    // Through the typed face.
    use lever_host::runtime::bindings::exports::lever::connector::{actions, types};
    let (mut store, instance) = world.connector.typed().await.unwrap();
    let error = instance
        .lever_connector_actions()
        .call_proxy(
            &mut store,
            &"acme".to_string(),
            &actions::ProxyRequest {
                method: types::HttpMethod::Get,
                path: "https://evil.example/v1/stages".into(),
                query: vec![],
                body: None,
                perform_as: false,
            },
        )
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(error, lever_host::server::ConnectorError::InvalidInput(_)),
        "{error:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_on_one_connection_stays_under_levers_limit_and_does_not_slow_another() {
    let world = World::start().await;
    world.set_up_globex().await;
    let acme_before = world.sims.lever.rate_limited_for(ACME);
    let globex_before = world
        .sims
        .lever
        .rate_limited_for(lever_host::sim::lever::GLOBEX);
    let storm = async {
        let calls = (0..60).map(|_| world.call("GET", "/connections/acme/lever/stages", None));
        futures::future::join_all(calls).await
    };
    let calm = async {
        let mut answers = Vec::new();
        for _ in 0..5 {
            answers.push(
                world
                    .call("GET", "/connections/globex/lever/stages", None)
                    .await,
            );
        }
        (answers, std::time::Instant::now())
    };
    let (storm, (calm, calm_done)) = tokio::join!(storm, calm);
    let storm_done = std::time::Instant::now();
    for answer in storm.iter().chain(calm.iter()) {
        assert_eq!(answer.status, 200, "{}", answer.text());
    }
    // Acme's burst was paced by its own bucket: unpaced, Lever (burst 20) would refuse at
    // least 40 of 60 at once; what it still refused (timing between taking a token and the
    // request's arrival) was retried.
    let acme_refused = world.sims.lever.rate_limited_for(ACME) - acme_before;
    assert!(
        acme_refused < 20,
        "Lever refused {acme_refused} of Acme's requests"
    );
    // Globex was never refused, and was served while Acme's burst was still being paced.
    assert_eq!(
        world
            .sims
            .lever
            .rate_limited_for(lever_host::sim::lever::GLOBEX),
        globex_before
    );
    assert!(calm_done < storm_done);
}

#[tokio::test(flavor = "multi_thread")]
async fn candidate_triggers_fire_once_each_with_the_object_fetched_fresh() {
    let world = World::start().await.with_perform_as().await;
    // Not enabled: no trigger events, and polling says so.
    let refused = world
        .call("GET", "/connections/acme/triggers/candidate-created", None)
        .await;
    assert_eq!(refused.status, 503);
    world
        .ok(
            "PUT",
            "/connections/acme/triggers",
            Some(json!({ "enabled": ["candidate-created", "candidate-updated"] })),
        )
        .await;
    let start = world
        .ok("GET", "/connections/acme/triggers/candidate-created", None)
        .await;
    let cursor = start["cursor"].as_str().unwrap().to_string();

    let mut deliveries = world.sims.lever.subscribe();
    let created = world
        .action(
            "create-opportunity",
            json!({ "name": "Mary Jackson", "posting": RUST_POSTING }),
        )
        .await;
    let id = created.json()["data"]["id"].as_str().unwrap().to_string();
    let delivery = tokio::time::timeout(WAIT, deliveries.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(delivery.event, "applicationCreated");
    assert_eq!(delivery.status, Some(200), "{}", delivery.response);
    world.sims.lever.move_stage(&id, OFFER);
    let delivery = tokio::time::timeout(WAIT, deliveries.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(delivery.status, Some(200), "{}", delivery.response);
    // A replayed delivery adds nothing.
    let replay = world.post_raw("acme", delivery.body.to_string()).await;
    assert_eq!(replay.status, 200);

    let events = world.partner_events();
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["candidate.created", "candidate.updated"],
        "{events:?}"
    );
    assert_eq!(events[0]["data"]["opportunity"]["id"], id.as_str());
    assert_eq!(
        events[1]["data"]["opportunity"]["stage"], OFFER,
        "fetched fresh"
    );

    let batch = world
        .ok(
            "GET",
            &format!("/connections/acme/triggers/candidate-created?cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(batch["events"].as_array().unwrap().len(), 1);
    assert_eq!(batch["events"][0]["object"]["name"], "Mary Jackson");
    let after = batch["cursor"].as_str().unwrap();
    let again = world
        .ok(
            "GET",
            &format!("/connections/acme/triggers/candidate-created?cursor={after}"),
            None,
        )
        .await;
    assert_eq!(again["events"], json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn posting_triggers_tell_created_from_updated_and_deliver_each_change_once() {
    let world = World::start().await.with_perform_as().await;
    world
        .ok(
            "PUT",
            "/connections/acme/triggers",
            Some(json!({ "enabled": ["posting-created", "posting-updated"] })),
        )
        .await;
    // The first poll starts watching.
    let first = world
        .ok("POST", "/connections/acme/triggers/poll", None)
        .await;
    assert_eq!(
        (first["created"].as_u64(), first["updated"].as_u64()),
        (Some(0), Some(0))
    );
    let created = world
        .action("create-posting", json!({ "text": "Launch Engineer" }))
        .await;
    let id = created.json()["data"]["id"].as_str().unwrap().to_string();
    let polled = world
        .ok("POST", "/connections/acme/triggers/poll", None)
        .await;
    assert_eq!(
        (polled["created"].as_u64(), polled["updated"].as_u64()),
        (Some(1), Some(0)),
        "{polled}"
    );
    let again = world
        .ok("POST", "/connections/acme/triggers/poll", None)
        .await;
    assert_eq!(
        (again["created"].as_u64(), again["updated"].as_u64()),
        (Some(0), Some(0))
    );
    world
        .action(
            "update-posting",
            json!({ "id": id, "changes": { "state": "published" } }),
        )
        .await;
    let polled = world
        .ok("POST", "/connections/acme/triggers/poll", None)
        .await;
    assert_eq!(
        (polled["created"].as_u64(), polled["updated"].as_u64()),
        (Some(0), Some(1)),
        "{polled}"
    );
    let events = world.partner_events();
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["posting.created", "posting.updated"]);
    assert_eq!(events[1]["data"]["posting"]["state"], "published");
    let batch = world
        .ok(
            "GET",
            "/connections/acme/triggers/posting-updated?cursor=0",
            None,
        )
        .await;
    assert_eq!(batch["events"].as_array().unwrap().len(), 1);
    assert_eq!(batch["events"][0]["kind"], "posting-updated");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_typed_face_runs_actions_and_triggers() {
    use lever_host::runtime::bindings::exports::lever::connector::{triggers, types};
    let world = World::start().await.with_perform_as().await;
    let (mut store, instance) = world.connector.typed().await.unwrap();
    let opportunity = instance
        .lever_connector_actions()
        .call_get_opportunity(&mut store, &"acme".to_string(), &ADA.to_string())
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(opportunity.name, "Ada Lovelace");
    assert_eq!(opportunity.stage, ONSITE);
    let (mut store, instance) = world.connector.typed().await.unwrap();
    instance
        .lever_connector_triggers()
        .call_enable(
            &mut store,
            &"acme".to_string(),
            &[triggers::TriggerKind::PostingCreated],
        )
        .await
        .unwrap()
        .unwrap();
    let (mut store, instance) = world.connector.typed().await.unwrap();
    let batch = instance
        .lever_connector_triggers()
        .call_poll(
            &mut store,
            &"acme".to_string(),
            triggers::TriggerKind::PostingCreated,
            None,
        )
        .await
        .unwrap()
        .unwrap();
    assert!(batch.events.is_empty());
    let _ = types::HttpMethod::Get;
}

#[tokio::test(flavor = "multi_thread")]
async fn call_runs_actions_proxy_and_triggers_like_the_http_face() {
    use lever_host::call::run;
    let world = World::start().await.with_perform_as().await;
    let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let got = run(
        &world.connector,
        "action",
        &args(&["acme", "get-opportunity", &json!({ "id": ADA }).to_string()]),
    )
    .await
    .unwrap()
    .unwrap();
    let http = world
        .action("get-opportunity", json!({ "id": ADA }))
        .await
        .json();
    assert_eq!(got["data"]["name"], http["data"]["name"]);
    assert_eq!(got["data"]["stage"], http["data"]["stage"]);
    let created = run(
        &world.connector,
        "action",
        &args(&[
            "acme",
            "create-posting",
            &json!({ "text": "Typed Posting", "categories": { "team": "Typed" } }).to_string(),
        ]),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(created["data"]["categories"]["team"], "Typed");
    let missing = run(
        &world.connector,
        "action",
        &args(&["acme", "get-posting", r#"{"id":"nope"}"#]),
    )
    .await
    .unwrap()
    .unwrap_err();
    assert_eq!(
        missing,
        world
            .action("get-posting", json!({ "id": "nope" }))
            .await
            .json()
    );
    let proxied = run(
        &world.connector,
        "proxy",
        &args(&["acme", "GET", "/stages?limit=1"]),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(proxied["status"], 200);
    assert_eq!(proxied["body"]["data"].as_array().unwrap().len(), 1);
    let not_enabled = run(
        &world.connector,
        "poll-trigger",
        &args(&["acme", "posting-created"]),
    )
    .await
    .unwrap()
    .unwrap_err();
    assert_eq!(not_enabled["error"]["code"], "not-configured");
    run(
        &world.connector,
        "enable-triggers",
        &args(&["acme", "posting-created"]),
    )
    .await
    .unwrap()
    .unwrap();
    let first = run(
        &world.connector,
        "poll-trigger",
        &args(&["acme", "posting-created"]),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(first["events"], json!([]));
}
