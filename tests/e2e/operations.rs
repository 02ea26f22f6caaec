//! One operation layer behind every face: each operation run over HTTP (`POST
//! /connections/acme/actions/{name}`) and through `lever-host call` (the WIT
//! `operations.invoke`) answers the same JSON. The two faces act on two connections of the
//! same Lever account, step by step, so each sees the same Lever state.

use std::collections::{BTreeMap, BTreeSet};

use lever_host::sim::lever::DEFAULT_API_KEY;
use serde_json::{json, Value};

use crate::harness::*;

const REASON: &str = "73ee66c3-b0a0-4f8c-a96a-33d8c091bc53";
const HTTP: &str = "acme";
const CALL: &str = "acme-call";

/// One step: an operation, its input (`$name` is a captured id: the same one for both
/// faces, or with `#` the face's own; `$r` is the face's round, `+r0` or `+r1`), what to capture
/// from its answer, and whether it must succeed.
struct Step {
    op: &'static str,
    input: Value,
    capture: &'static [(&'static str, &'static str)],
    ok: bool,
}

fn step(op: &'static str, input: Value) -> Step {
    Step {
        op,
        input,
        capture: &[],
        ok: true,
    }
}

fn keeping(
    op: &'static str,
    input: Value,
    capture: &'static [(&'static str, &'static str)],
) -> Step {
    Step {
        op,
        input,
        capture,
        ok: true,
    }
}

fn failing(op: &'static str, input: Value) -> Step {
    Step {
        op,
        input,
        capture: &[],
        ok: false,
    }
}

/// The input with captured ids filled in for `round`.
fn resolve(input: &Value, ids: &BTreeMap<String, Vec<String>>, round: usize) -> Value {
    match input {
        Value::String(text) if text.starts_with('$') && text != "$r" => {
            let name = text.trim_start_matches('$');
            let (name, own) = match name.strip_suffix('#') {
                Some(name) => (name, true),
                None => (name, false),
            };
            let values = ids
                .get(name)
                .unwrap_or_else(|| panic!("nothing captured as {name}"));
            json!(values[if own { round } else { 0 }])
        }
        Value::String(text) => json!(text.replace("$r", &format!("+r{round}"))),
        Value::Array(items) => Value::Array(items.iter().map(|i| resolve(i, ids, round)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), resolve(v, ids, round)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn is_uuid(text: &str) -> bool {
    text.len() == 36
        && text.char_indices().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

/// The text with every UUID in it replaced.
fn mask_uuids(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while !rest.is_empty() {
        match rest.get(..36).filter(|w| is_uuid(w)) {
            Some(_) => {
                out.push_str("<uuid>");
                rest = &rest[36..];
            }
            None => {
                let c = rest.chars().next().unwrap_or_default();
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    out
}

/// The answer with what differs by nature between two runs made equal: generated ids,
/// times, cursors, tokens and links, the connection's name, and the audit's face.
fn normalized(value: &Value) -> Value {
    const OPAQUE: [&str; 8] = [
        "next",
        "cursor",
        "token",
        "url",
        "authorizeUrl",
        "cause",
        "webhookId",
        "show",
    ];
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if OPAQUE.contains(&k.as_str()) && v.is_string() {
                        json!("<opaque>")
                    } else {
                        normalized(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(normalized).collect()),
        Value::String(text) if is_uuid(text) => json!("<uuid>"),
        Value::String(text) if text.len() >= 24 && text.chars().all(|c| c.is_ascii_hexdigit()) => {
            json!("<hex>")
        }
        Value::String(text) => json!(mask_uuids(&text.replace(CALL, HTTP).replace("+r1", "+r0"))),
        Value::Number(n) if n.as_u64().is_some_and(|n| n > 1_000_000_000_000) => json!(0),
        other => other.clone(),
    }
}

fn steps() -> Vec<Step> {
    let interview = json!({
        "subject": "Ops interview", "interviewers": [{ "id": RECRUITER }],
        "date": 1_893_456_000_000u64, "duration": 45,
    });
    vec![
        // ---- connection ----
        step("connect-api-key", json!({ "apiKey": DEFAULT_API_KEY })),
        step("set-environment", json!({ "environment": "production" })),
        step("get-status", json!({})),
        step("list-lever-stages", json!({})),
        step("list-lever-users", json!({})),
        step("list-lever-postings", json!({ "state": "published" })),
        step("list-lever-archive-reasons", json!({})),
        step("set-stage-map", acme_stage_map()),
        step("get-stage-map", json!({})),
        step("set-perform-as", json!({ "userId": RECRUITER })),
        step("set-upload-stage", json!({ "stageId": PHONE })),
        step("set-upload-stage", json!({})),
        step("set-upload-tags", json!(["from-partner"])),
        step("set-rejection-reason", json!({ "archiveReasonId": REASON })),
        step(
            "link-role",
            json!({ "role": "role-1", "postingId": RUST_POSTING }),
        ),
        step(
            "link-role",
            json!({ "role": "role-2", "postingId": RUST_POSTING }),
        ),
        step("unlink-role", json!({ "role": "role-2" })),
        step("list-roles", json!({})),
        step("install-webhooks", json!({})),
        step(
            "create-portal-link",
            json!({ "partnerStages": ["interviewing", "offer"] }),
        ),
        step("begin-oauth", json!({})),
        failing("set-perform-as", json!({ "user": RECRUITER })),
        // ---- marketplace ----
        keeping(
            "submit-candidate",
            json!({ "partnerCandidateId": "cand-new", "partnerRoleId": "role-1",
                    "name": "Grace Hopper", "emails": ["grace$r@example.com"] }),
            &[("submitted", "/opportunityId")],
        ),
        step(
            "add-candidate-note",
            json!({ "partnerCandidateId": "cand-new", "noteId": "n-1", "text": "Ready for the onsite" }),
        ),
        step(
            "add-candidate-note",
            json!({ "partnerCandidateId": "cand-new", "noteId": "n-1", "text": "Ready for the onsite" }),
        ),
        step(
            "link-candidate",
            json!({ "partnerCandidateId": "cand-ada", "opportunityId": ADA }),
        ),
        step(
            "get-candidate-link",
            json!({ "partnerCandidateId": "cand-new" }),
        ),
        step("get-linked-candidate", json!({ "opportunityId": ADA })),
        step(
            "set-candidate-stage",
            json!({ "partnerCandidateId": "cand-new", "stage": "interviewing" }),
        ),
        step(
            "reject-candidate",
            json!({ "partnerCandidateId": "cand-new", "reason": "not a fit" }),
        ),
        failing(
            "set-candidate-stage",
            json!({ "partnerCandidateId": "cand-new" }),
        ),
        step("set-interview-feedback", json!({ "enabled": true })),
        step("set-interview-feedback", json!({ "enabled": false })),
        failing("set-interview-feedback", json!({ "enabled": "yes" })),
        step("reconcile", json!({})),
        // ---- triggers ----
        step(
            "enable-triggers",
            json!({ "enabled": ["posting-created", "candidate-created"] }),
        ),
        step("poll-postings", json!({})),
        step("poll-trigger", json!({ "trigger": "posting-created" })),
        failing("poll-trigger", json!({ "trigger": "nothing" })),
        // ---- outbox ----
        step("list-outbox", json!({})),
        step("list-dead-letters", json!({})),
        failing("replay-dead-letter", json!({ "token": "no-such-token" })),
        // ---- the nine and the proxy ----
        keeping(
            "create-opportunity",
            json!({ "name": "Mary Jackson", "emails": ["mary$r@example.com"], "posting": RUST_POSTING }),
            &[("created", "/data/id")],
        ),
        step("get-opportunity", json!({ "id": ADA })),
        step(
            "list-opportunities",
            json!({ "filter": { "email": "mary+r0@example.com" } }),
        ),
        step("get-contact", json!({ "id": ADA_CONTACT })),
        step(
            "update-contact",
            json!({ "id": ADA_CONTACT, "changes": { "headline": "Analyst" } }),
        ),
        keeping(
            "create-posting",
            json!({ "text": "Ops Engineer" }),
            &[("posting", "/data/id")],
        ),
        step(
            "update-posting",
            json!({ "id": "$posting#", "changes": { "state": "published" } }),
        ),
        step("get-posting", json!({ "id": RUST_POSTING })),
        step("list-postings", json!({ "filter": { "team": "Platform" } })),
        step(
            "proxy",
            json!({ "method": "GET", "path": "/stages?limit=2" }),
        ),
        keeping(
            "apply-to-posting",
            json!({ "postingId": RUST_POSTING, "personalInformation": [
                { "name": "fullName", "value": "Annie Easley" }, { "name": "email", "value": "annie$r@example.com" }] }),
            &[],
        ),
        failing(
            "apply-to-posting",
            json!({ "postingId": RUST_POSTING, "personalInformation": [{ "name": "fullName", "value": "No Email" }] }),
        ),
        // ---- notes, tags, sources, links, stage, archive ----
        keeping(
            "create-note",
            json!({ "opportunityId": ADA, "value": "Strong systems thinking" }),
            &[("note", "/data/id")],
        ),
        step("list-notes", json!({ "opportunityId": ADA })),
        step(
            "get-note",
            json!({ "opportunityId": ADA, "noteId": "$note#" }),
        ),
        step(
            "delete-note",
            json!({ "opportunityId": ADA, "noteId": "$note#" }),
        ),
        step("add-tags", json!({ "opportunityId": ADA, "tags": ["ops"] })),
        step(
            "remove-tags",
            json!({ "opportunityId": ADA, "tags": ["ops"] }),
        ),
        step(
            "add-sources",
            json!({ "opportunityId": ADA, "sources": ["Ops"] }),
        ),
        step(
            "remove-sources",
            json!({ "opportunityId": ADA, "sources": ["Ops"] }),
        ),
        step(
            "add-links",
            json!({ "opportunityId": ADA, "links": ["https://example.com/ada"] }),
        ),
        step(
            "remove-links",
            json!({ "opportunityId": ADA, "links": ["https://example.com/ada"] }),
        ),
        step(
            "change-stage",
            json!({ "opportunityId": "$created#", "stage": PHONE }),
        ),
        step(
            "archive-opportunity",
            json!({ "opportunityId": "$created#", "reason": REASON }),
        ),
        step(
            "unarchive-opportunity",
            json!({ "opportunityId": "$created#" }),
        ),
        failing(
            "unarchive-opportunity",
            json!({ "opportunityId": "$created#", "reason": REASON }),
        ),
        step("list-archive-reasons", json!({})),
        step("get-archive-reason", json!({ "archiveReasonId": REASON })),
        // ---- interviews and panels ----
        keeping(
            "create-panel",
            json!({ "opportunityId": "$created#", "timezone": "Europe/London", "interviews": [interview] }),
            &[("panel", "/data/id")],
        ),
        step("list-panels", json!({ "opportunityId": "$created#" })),
        step(
            "get-panel",
            json!({ "opportunityId": "$created#", "panelId": "$panel#" }),
        ),
        step(
            "update-panel",
            json!({ "opportunityId": "$created#", "panelId": "$panel#", "timezone": "Europe/Paris", "interviews": [interview] }),
        ),
        keeping(
            "create-interview",
            json!({ "opportunityId": "$created#", "panel": "$panel#", "subject": "Follow-up",
                    "interviewers": [{ "id": RECRUITER }], "date": 1_893_459_600_000u64, "duration": 30 }),
            &[("interview", "/data/id")],
        ),
        step("list-interviews", json!({ "opportunityId": "$created#" })),
        step(
            "get-interview",
            json!({ "opportunityId": "$created#", "interviewId": "$interview#" }),
        ),
        step(
            "update-interview",
            json!({ "opportunityId": "$created#", "interviewId": "$interview#", "subject": "Follow-up (moved)",
                    "interviewers": [{ "id": RECRUITER }], "date": 1_893_463_200_000u64, "duration": 30 }),
        ),
        step(
            "delete-interview",
            json!({ "opportunityId": "$created#", "interviewId": "$interview#" }),
        ),
        step(
            "delete-panel",
            json!({ "opportunityId": "$created#", "panelId": "$panel#" }),
        ),
        // ---- feedback and templates ----
        keeping(
            "create-feedback-template",
            json!({ "text": "Ops template", "fields": [{ "type": "text", "text": "Notes" }] }),
            &[("template", "/data/id")],
        ),
        step("list-feedback-templates", json!({})),
        step(
            "get-feedback-template",
            json!({ "feedbackTemplateId": "$template#" }),
        ),
        step(
            "update-feedback-template",
            json!({ "feedbackTemplateId": "$template#", "text": "Ops template v2", "fields": [{ "type": "text", "text": "Notes" }] }),
        ),
        keeping(
            "create-feedback",
            json!({ "opportunityId": "$created#", "baseTemplateId": "$template#" }),
            &[("feedback", "/data/id")],
        ),
        step("list-feedback", json!({ "opportunityId": "$created#" })),
        step(
            "get-feedback",
            json!({ "opportunityId": "$created#", "feedbackId": "$feedback#" }),
        ),
        step(
            "update-feedback",
            json!({ "opportunityId": "$created#", "feedbackId": "$feedback#", "fieldValues": [] }),
        ),
        step(
            "delete-feedback",
            json!({ "opportunityId": "$created#", "feedbackId": "$feedback#" }),
        ),
        step(
            "delete-feedback-template",
            json!({ "feedbackTemplateId": "$template#" }),
        ),
        // ---- offers, referrals, applications, resumes, files ----
        step("list-offers", json!({ "opportunityId": ADA })),
        step("list-referrals", json!({ "opportunityId": ADA })),
        failing(
            "get-referral",
            json!({ "opportunityId": ADA, "referralId": "none" }),
        ),
        keeping(
            "list-applications",
            json!({ "opportunityId": "$created#" }),
            &[("application", "/data/0/id")],
        ),
        step(
            "get-application",
            json!({ "opportunityId": "$created#", "applicationId": "$application#" }),
        ),
        step(
            "list-resumes",
            json!({ "opportunityId": ADA, "page": { "limit": 10 } }),
        ),
        failing(
            "get-resume",
            json!({ "opportunityId": ADA, "resumeId": "none" }),
        ),
        keeping(
            "upload-file",
            json!({ "opportunityId": ADA, "fileName": "notes.txt", "contentBase64": "aGVsbG8=" }),
            &[],
        ),
        step("list-files", json!({ "opportunityId": ADA })),
        failing(
            "get-file",
            json!({ "opportunityId": ADA, "fileId": "none" }),
        ),
        failing(
            "delete-file",
            json!({ "opportunityId": ADA, "fileId": "none" }),
        ),
        // ---- requisitions ----
        keeping(
            "create-requisition",
            json!({ "requisitionCode": "OPS-1", "name": "Ops", "headcountTotal": 1 }),
            &[("requisition", "/data/id")],
        ),
        step("list-requisitions", json!({ "status": "open" })),
        step(
            "get-requisition",
            json!({ "requisitionId": "$requisition#" }),
        ),
        step(
            "update-requisition",
            json!({ "requisitionId": "$requisition#", "requisitionCode": "OPS-1", "name": "Ops team", "headcountTotal": 2 }),
        ),
        step(
            "delete-requisition",
            json!({ "requisitionId": "$requisition#" }),
        ),
        keeping(
            "list-requisition-fields",
            json!({}),
            &[("field", "/data/0/id")],
        ),
        step("get-requisition-field", json!({ "fieldId": "$field" })),
        // ---- postings' forms, EEO ----
        step(
            "get-application-questions",
            json!({ "postingId": RUST_POSTING }),
        ),
        step("get-posting-users", json!({ "postingId": RUST_POSTING })),
        step("get-eeo-responses", json!({})),
        step("get-eeo-responses-pii", json!({})),
        // ---- users ----
        step("list-users", json!({})),
        step("get-user", json!({ "userId": RECRUITER })),
        keeping(
            "create-user",
            json!({ "name": "Ops User", "email": "ops@example.com" }),
            &[("user", "/data/id")],
        ),
        step(
            "update-user",
            json!({ "userId": "$user#", "name": "Ops User", "email": "ops@example.com", "jobTitle": "Ops" }),
        ),
        step("deactivate-user", json!({ "userId": "$user#" })),
        step("reactivate-user", json!({ "userId": "$user#" })),
        // ---- deleted objects and account lists ----
        step("list-deleted-opportunities", json!({})),
        step("list-deleted-applications", json!({})),
        step("list-deleted-postings", json!({})),
        step("list-sources", json!({})),
        step("list-tags", json!({})),
        step("list-stages", json!({})),
        step("get-stage", json!({ "stageId": PHONE })),
        step("get-disposition-stages", json!({})),
        step("list-webhooks", json!({})),
        step("list-audit", json!({})),
        failing("get-opportunity", json!({ "id": ADA, "colour": "blue" })),
        step("disconnect", json!({ "purge": true })),
    ]
}

fn pointer<'a>(value: &'a Value, path: &str) -> &'a Value {
    value
        .pointer(path)
        .unwrap_or_else(|| panic!("no {path} in {value}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn every_operation_answers_the_same_json_over_http_and_through_call() {
    let world = World::bare().await;
    let mut ids: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut ran = BTreeSet::new();
    for step in steps() {
        let mut answers = Vec::new();
        for (round, connection) in [HTTP, CALL].into_iter().enumerate() {
            let input = resolve(&step.input, &ids, round);
            let answer = if connection == HTTP {
                let response = world
                    .call(
                        "POST",
                        &format!("/connections/{HTTP}/actions/{}", step.op),
                        Some(input.clone()),
                    )
                    .await;
                let body = response.json();
                assert_eq!(
                    response.status < 300,
                    step.ok,
                    "{} over HTTP with {input}: {} {body}",
                    step.op,
                    response.status
                );
                body
            } else {
                let args = vec![
                    connection.to_string(),
                    step.op.to_string(),
                    input.to_string(),
                ];
                match lever_host::call::run(&world.connector, "action", &args)
                    .await
                    .unwrap()
                {
                    Ok(answer) => answer,
                    Err(error) => error,
                }
            };
            let mut answer = answer;
            if step.op == "list-audit" {
                // Lever's 429s (both connections share one API key's limit) are retried and
                // recorded where they fell; what else was written must be the same.
                if let Some(entries) = answer["data"].as_array_mut() {
                    entries.retain(|e| e["status"] != 429);
                }
            }
            for (name, path) in step.capture {
                if let Some(id) = pointer(&answer, path).as_str() {
                    ids.entry(name.to_string())
                        .or_default()
                        .push(id.to_string());
                }
            }
            answers.push(answer);
        }
        assert_eq!(
            normalized(&answers[0]),
            normalized(&answers[1]),
            "{}: HTTP answered {}\nand call answered {}",
            step.op,
            answers[0],
            answers[1]
        );
        ran.insert(step.op);
    }
    let every: BTreeSet<&str> = lever_plugin::ops::all().map(|op| op.name()).collect();
    let missed: Vec<&&str> = every.difference(&ran).collect();
    assert!(
        missed.is_empty(),
        "operations not run through both faces: {missed:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn get_actions_lists_every_action_with_its_schemas() {
    let world = World::bare().await;
    let listed = world.ok("GET", "/actions", None).await;
    let actions = listed["data"].as_array().unwrap();
    let names: BTreeSet<&str> = actions
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    for name in [
        "create-opportunity",
        "list-notes",
        "create-interview",
        "list-offers",
        "proxy",
    ] {
        assert!(names.contains(name), "{name}");
    }
    let note = actions.iter().find(|a| a["name"] == "create-note").unwrap();
    assert_eq!(note["input"]["required"], json!(["opportunityId", "value"]));
    assert_eq!(note["lever"], "POST /opportunities/{opportunityId}/notes");
    assert_eq!(note["performAs"], true);
    // No partner key, no list.
    let anonymous = lever_host::http_util::HttpClient::default()
        .get(&format!("{}/actions", world.served.url()), &[])
        .await
        .unwrap();
    assert_eq!(anonymous.status, 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_is_uploaded_and_downloaded_through_the_confined_proxy_byte_for_byte() {
    use base64::Engine as _;
    let world = World::start().await;
    world.set_perform_as().await;
    // Every byte value: not text.
    let bytes: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let uploaded = world
        .call(
            "POST",
            "/connections/acme/actions/upload-file",
            Some(json!({ "opportunityId": ADA, "fileName": "portfolio.pdf",
                         "contentBase64": base64::engine::general_purpose::STANDARD.encode(&bytes) })),
        )
        .await;
    assert_eq!(uploaded.status, 201, "{}", uploaded.text());
    let file = uploaded.json()["data"]["id"].as_str().unwrap().to_string();
    let listed = world
        .ok(
            "POST",
            "/connections/acme/actions/list-files",
            Some(json!({ "opportunityId": ADA })),
        )
        .await;
    assert_eq!(listed["data"][0]["id"], file.as_str());
    assert_eq!(listed["data"][0]["name"], "portfolio.pdf");
    assert_eq!(listed["data"][0]["size"], bytes.len());
    let downloaded = world
        .call(
            "GET",
            &format!("/connections/acme/proxy/opportunities/{ADA}/files/{file}/download"),
            None,
        )
        .await;
    assert_eq!(downloaded.status, 200);
    assert_eq!(downloaded.headers["content-type"], "application/pdf");
    assert_eq!(downloaded.body.as_ref(), bytes.as_slice(), "byte for byte");
    // A path that leaves the API root is refused before anything is sent.
    let escape = world
        .call(
            "GET",
            "/connections/acme/proxy/opportunities/%2e%2e/admin",
            None,
        )
        .await;
    assert_eq!(escape.status, 400);
}
