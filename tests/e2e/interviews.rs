//! Interviews in the marketplace sync: Lever's interview webhooks for a linked candidate
//! reach the partner as signed `candidate.interview_*` events carrying when, where and who,
//! confirmed with Lever; an unlinked candidate's interviews do not.

use serde_json::{json, Value};

use crate::harness::*;

/// Waits for the completed delivery of `event` for `interview`.
async fn interview_delivery(
    deliveries: &mut tokio::sync::broadcast::Receiver<lever_host::sim::lever::DeliveryAttempt>,
    event: &str,
) -> lever_host::sim::lever::DeliveryAttempt {
    loop {
        let delivery = tokio::time::timeout(WAIT, deliveries.recv())
            .await
            .expect("the interview event was delivered in time")
            .expect("the simulator still runs");
        if delivery.event == event {
            return delivery;
        }
    }
}

async fn action(world: &World, name: &str, input: Value) -> Value {
    let response = world
        .call(
            "POST",
            &format!("/connections/acme/actions/{name}"),
            Some(input),
        )
        .await;
    assert!(response.status < 300, "{name}: {}", response.text());
    response.json()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_linked_candidates_interviews_reach_the_partner_scheduled_moved_and_cancelled() {
    let world = World::start().await;
    world.set_perform_as().await;
    let status = world.ok("GET", "/connections/acme", None).await;
    let events: Vec<&str> = status["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w["event"].as_str())
        .collect();
    for event in ["interviewCreated", "interviewUpdated", "interviewDeleted"] {
        assert!(
            events.contains(&event),
            "the install covers {event}: {status}"
        );
    }
    let mut deliveries = world.sims.lever.subscribe();

    let panel = action(
        &world,
        "create-panel",
        json!({ "opportunityId": ADA, "timezone": "Europe/London", "interviews": [{
            "subject": "Systems design", "interviewers": [{ "id": RECRUITER }],
            "date": 1_893_456_000_000u64, "duration": 60, "location": "https://meet.example/ada" }] }),
    )
    .await;
    let interview = panel["data"]["interviews"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let created = interview_delivery(&mut deliveries, "interviewCreated").await;
    assert_eq!(created.status, Some(200), "{}", created.response);
    let scheduled = world
        .partner_events()
        .into_iter()
        .find(|e| e["type"] == "candidate.interview_scheduled")
        .expect("the partner heard of the interview");
    assert_eq!(scheduled["connectionId"], "acme");
    assert_eq!(scheduled["data"]["partnerCandidateId"], "cand-ada");
    assert_eq!(scheduled["data"]["leverOpportunityId"], ADA);
    let shown = &scheduled["data"]["interview"];
    assert_eq!(shown["id"], interview.as_str());
    assert_eq!(shown["subject"], "Systems design");
    assert_eq!(shown["startsAt"], 1_893_456_000_000u64);
    assert_eq!(shown["durationMinutes"], 60);
    assert_eq!(shown["location"], "https://meet.example/ada");
    assert_eq!(shown["interviewers"][0]["id"], RECRUITER);
    assert!(shown["interviewers"][0]["name"].is_string());
    assert!(
        !scheduled["data"].to_string().contains("feedback"),
        "no feedback is sent: {scheduled}"
    );

    action(
        &world,
        "update-interview",
        json!({ "opportunityId": ADA, "interviewId": interview, "subject": "Systems design",
                "interviewers": [{ "id": RECRUITER }], "date": 1_893_459_600_000u64, "duration": 45 }),
    )
    .await;
    let updated = interview_delivery(&mut deliveries, "interviewUpdated").await;
    assert_eq!(updated.status, Some(200), "{}", updated.response);
    let moved = world
        .partner_events()
        .into_iter()
        .find(|e| e["type"] == "candidate.interview_updated")
        .expect("the partner heard of the move");
    assert_eq!(moved["data"]["interview"]["startsAt"], 1_893_459_600_000u64);
    assert_eq!(moved["data"]["interview"]["durationMinutes"], 45);

    action(
        &world,
        "delete-interview",
        json!({ "opportunityId": ADA, "interviewId": interview }),
    )
    .await;
    let deleted = interview_delivery(&mut deliveries, "interviewDeleted").await;
    assert_eq!(deleted.status, Some(200), "{}", deleted.response);
    let cancelled: Vec<Value> = world
        .partner_events()
        .into_iter()
        .filter(|e| e["type"] == "candidate.interview_cancelled")
        .collect();
    assert_eq!(cancelled.len(), 1);
    assert_eq!(cancelled[0]["data"]["interview"]["id"], interview.as_str());

    // Lever's retry of the same delivery is a duplicate: no second event.
    let replay = world.post(&deleted.body).await;
    assert_eq!(replay.json()["duplicate"], "forwarded", "{}", replay.text());
    let cancelled = world
        .partner_events()
        .into_iter()
        .filter(|e| e["type"] == "candidate.interview_cancelled")
        .count();
    assert_eq!(cancelled, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn interviews_of_unlinked_candidates_and_unconfirmed_events_are_not_sent() {
    let world = World::start().await;
    world.set_perform_as().await;
    let before = world.partner_events().len();
    // An event Lever does not confirm: the interview is not there.
    let forged = world.signed(
        "interviewCreated",
        json!({ "opportunityId": ADA, "contactId": ADA_CONTACT, "interviewId": "no-such-interview", "panelId": "p" }),
    );
    let answer = world.post(&forged).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(
        answer.json()["skipped"],
        json!({ "reason": "interview-not-confirmed", "interviewId": "no-such-interview" }),
        "{}",
        answer.text()
    );
    // An unlinked candidate's interview.
    let other = world.signed(
        "interviewCreated",
        json!({ "opportunityId": "not-linked-opportunity", "interviewId": "i", "panelId": "p" }),
    );
    let answer = world.post(&other).await;
    assert_eq!(
        answer.json()["skipped"],
        json!({ "reason": "not-linked", "opportunityId": "not-linked-opportunity" })
    );
    assert_eq!(world.partner_events().len(), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_opted_in_connection_gets_the_interviews_feedback() {
    let world = World::start().await;
    world.set_perform_as().await;
    let opted = world
        .ok(
            "PUT",
            "/connections/acme/interview-feedback",
            Some(json!({ "enabled": true })),
        )
        .await;
    assert_eq!(opted["interviewFeedback"], true);
    let mut deliveries = world.sims.lever.subscribe();
    let panel = action(
        &world,
        "create-panel",
        json!({ "opportunityId": ADA, "timezone": "UTC", "interviews": [{
            "subject": "Pairing", "interviewers": [{ "id": RECRUITER }],
            "date": 1_893_456_000_000u64, "duration": 60 }] }),
    )
    .await;
    let interview = panel["data"]["interviews"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    interview_delivery(&mut deliveries, "interviewCreated").await;
    let template = action(
        &world,
        "create-feedback-template",
        json!({ "text": "Pairing review", "fields": [{ "type": "text", "text": "How did it go?" }] }),
    )
    .await;
    let field = template["data"]["fields"][0]["id"].clone();
    action(
        &world,
        "create-feedback",
        json!({ "opportunityId": ADA, "baseTemplateId": template["data"]["id"], "interview": interview,
                "fieldValues": [{ "id": field, "value": "Clear, careful, fast." }] }),
    )
    .await;
    action(
        &world,
        "update-interview",
        json!({ "opportunityId": ADA, "interviewId": interview, "subject": "Pairing",
                "interviewers": [{ "id": RECRUITER }], "date": 1_893_456_000_000u64, "duration": 90 }),
    )
    .await;
    let updated = interview_delivery(&mut deliveries, "interviewUpdated").await;
    assert_eq!(updated.status, Some(200), "{}", updated.response);
    let event = world
        .partner_events()
        .into_iter()
        .find(|e| e["type"] == "candidate.interview_updated")
        .expect("the partner heard of the change");
    let feedback = &event["data"]["interview"]["feedback"];
    assert_eq!(feedback.as_array().map(Vec::len), Some(1), "{event}");
    assert_eq!(feedback[0]["text"], "Pairing review");
    assert_eq!(feedback[0]["fields"][0]["value"], "Clear, careful, fast.");
}
