//! The simulated accounts' data and Lever's object shapes: every field that the recorded
//! responses in `tests/fixtures/lever/recorded/` carry is present in what the simulator
//! answers (a unit test compares the key sets).

use serde_json::{json, Value};

fn fixture(text: &str) -> Value {
    serde_json::from_str(text).expect("embedded fixtures are valid JSON")
}

fn fill(object: &mut Value, defaults: Value) {
    if let (Some(map), Value::Object(defaults)) = (object.as_object_mut(), defaults) {
        for (key, value) in defaults {
            map.entry(key).or_insert(value);
        }
    }
}

/// A user with every field Lever returns.
pub fn user(mut user: Value) -> Value {
    fill(
        &mut user,
        json!({
            "photo": null,
            "createdAt": 1_763_078_400_000u64,
            "deactivatedAt": null,
            "externalDirectoryId": null,
            "linkedContactIds": null,
            "jobTitle": null,
            "managerId": null,
        }),
    );
    user
}

/// A posting with every field Lever returns.
pub fn posting(mut posting: Value) -> Value {
    let id = posting["id"].as_str().unwrap_or_default().to_string();
    let owner = posting["owner"].clone();
    let location = posting["categories"]["location"].clone();
    if let Some(categories) = posting["categories"].as_object_mut() {
        categories
            .entry("allLocations")
            .or_insert_with(|| json!(location.as_str().into_iter().collect::<Vec<_>>()));
        for key in ["team", "department", "location", "commitment", "level"] {
            categories.entry(key).or_insert(Value::Null);
        }
    }
    fill(
        &mut posting,
        json!({
            "distributionChannels": null,
            "owner": owner,
            "user": owner,
            "hiringManager": null,
            "tags": [],
            "content": {
                "description": "",
                "descriptionHtml": "",
                "lists": [],
                "closing": "",
                "closingHtml": ""
            },
            "country": null,
            "followers": if owner.is_null() { json!([]) } else { json!([owner]) },
            "reqCode": null,
            "requisitionCodes": [],
            "urls": {
                "list": "https://jobs.lever.co/sim",
                "show": format!("https://jobs.lever.co/sim/{id}"),
                "apply": format!("https://jobs.lever.co/sim/{id}/apply")
            },
            "confidentiality": "non-confidential",
            "workplaceType": "unspecified",
            "transcribeInterviews": false,
            "screening": { "enabled": false },
        }),
    );
    posting
}

/// An opportunity with every field Lever returns (bookkeeping fields start with `_`).
pub fn opportunity(mut opportunity: Value) -> Value {
    let owner = opportunity["owner"].clone();
    let id = opportunity["id"].as_str().unwrap_or_default().to_string();
    fill(
        &mut opportunity,
        json!({
            "headline": "",
            "confidentiality": "non-confidential",
            "location": "",
            "phones": [],
            "emails": [],
            "links": [],
            "archived": null,
            "tags": [],
            "sources": [],
            "stageChanges": [],
            "origin": "sourced",
            "sourcedBy": owner,
            "followers": if owner.is_null() { json!([]) } else { json!([owner]) },
            "applications": [],
            "snoozedUntil": null,
            "urls": {
                "list": "https://hire.lever.co/candidates",
                "show": format!("https://hire.lever.co/candidates/{id}")
            },
            "isAnonymized": false,
            "dataProtection": null,
            "opportunityLocation": null,
        }),
    );
    opportunity
}

/// One account's seed data.
#[derive(Debug, Clone)]
pub struct Seed {
    /// Lever's account id.
    pub account_id: String,
    /// The account's API key.
    pub api_key: String,
    /// Stages in pipeline order.
    pub stages: Vec<Value>,
    /// Users (some deactivated).
    pub users: Vec<Value>,
    /// Postings in several states.
    pub postings: Vec<Value>,
    /// Opportunities.
    pub opportunities: Vec<Value>,
    /// Archive reasons (one of type `hired`).
    pub archive_reasons: Vec<Value>,
}

/// Acme: the account in `tests/fixtures/lever/api/` (eight stages with custom ones, two
/// users one of them deactivated, two postings, Ada Lovelace at the on-site interview).
pub fn acme() -> Seed {
    let stages = fixture(include_str!(
        "../../../../../tests/fixtures/lever/api/stages.json"
    ));
    let users = fixture(include_str!(
        "../../../../../tests/fixtures/lever/api/users.json"
    ));
    let postings = fixture(include_str!(
        "../../../../../tests/fixtures/lever/api/postings-page1.json"
    ));
    let ada = fixture(include_str!(
        "../../../../../tests/fixtures/lever/api/opportunity.json"
    ));
    let reasons = fixture(include_str!(
        "../../../../../tests/fixtures/lever/api/archive_reasons.json"
    ));
    let mut postings: Vec<Value> = postings["data"].as_array().cloned().unwrap_or_default();
    postings.push(json!({
        "id": "5c3a7f3e-0b7a-4d0e-9a51-3e1f3b8d2a77",
        "text": "Technical Recruiter",
        "state": "published",
        "owner": "user-0001",
        "categories": { "team": "People", "department": "Operations", "location": "London", "commitment": "Full-time", "level": "Mid" },
        "workplaceType": "hybrid",
        "createdAt": 1763164800000u64,
        "updatedAt": 1763164800000u64
    }));
    postings.push(json!({
        "id": "8e0c5a1b-2f4d-4c6e-9a7b-1d3f5e7a9c0b",
        "text": "Data Engineer (filled)",
        "state": "closed",
        "owner": "user-0001",
        "categories": { "team": "Data", "department": "Engineering", "location": "Berlin", "commitment": "Full-time", "level": "Senior" },
        "workplaceType": "onsite",
        "createdAt": 1762992000000u64,
        "updatedAt": 1763856000000u64
    }));
    Seed {
        account_id: "acct-acme".into(),
        api_key: "sim-api-key".into(),
        stages: stages["data"].as_array().cloned().unwrap_or_default(),
        users: users["data"].as_array().cloned().unwrap_or_default(),
        postings,
        opportunities: vec![ada["data"].clone()],
        archive_reasons: reasons["data"].as_array().cloned().unwrap_or_default(),
    }
}

/// Globex: a second account with its own custom stages, users, postings and one candidate
/// (Katherine Johnson), so isolation tests see different data on each side.
pub fn globex() -> Seed {
    let stage = |id: &str, text: &str| json!({ "id": id, "text": text });
    Seed {
        account_id: "acct-globex".into(),
        api_key: "sim-api-key-globex".into(),
        stages: vec![
            stage("lead-new", "New lead"),
            stage("lead-reached-out", "Reached out"),
            stage("applicant-new", "New applicant"),
            stage(
                "7d2e4c10-a1b2-4c3d-8e9f-000000000001",
                "Hiring manager screen",
            ),
            stage(
                "7d2e4c10-a1b2-4c3d-8e9f-000000000002",
                "Technical interview",
            ),
            stage("7d2e4c10-a1b2-4c3d-8e9f-000000000003", "Offer"),
        ],
        users: vec![
            json!({ "id": "globex-user-1", "name": "Hedy Lamarr", "username": "hedy", "email": "hedy@globex.example", "accessRole": "super admin", "deactivatedAt": null }),
            json!({ "id": "globex-user-2", "name": "Claude Shannon", "username": "claude", "email": "claude@globex.example", "accessRole": "team member", "deactivatedAt": null }),
            json!({ "id": "globex-user-3", "name": "John von Neumann", "username": "johnny", "email": "johnny@globex.example", "accessRole": "admin", "deactivatedAt": 1763000000000u64 }),
        ],
        postings: vec![
            json!({ "id": "globex-posting-1", "text": "Orbital Mechanics Engineer", "state": "published", "owner": "globex-user-1", "categories": { "team": "Flight", "department": "Engineering", "location": "Houston", "commitment": "Full-time", "level": "Senior" }, "workplaceType": "onsite", "createdAt": 1763078400000u64, "updatedAt": 1763078400000u64 }),
            json!({ "id": "globex-posting-2", "text": "Signals Analyst", "state": "internal", "owner": "globex-user-1", "categories": { "team": "Research", "department": "Research", "location": "Remote", "commitment": "Part-time", "level": "Mid" }, "workplaceType": "remote", "createdAt": 1763078400000u64, "updatedAt": 1763164800000u64 }),
            json!({ "id": "globex-posting-3", "text": "Draft: Chief Scientist", "state": "draft", "owner": "globex-user-1", "categories": { "team": "Research", "department": "Research", "location": "Houston", "commitment": "Full-time", "level": "Executive" }, "workplaceType": "hybrid", "createdAt": 1763078400000u64, "updatedAt": 1763078400000u64 }),
        ],
        opportunities: vec![json!({
            "id": "6a1f0c2e-5b7d-4e8f-9a0b-katherine001",
            "name": "Katherine Johnson",
            "headline": "Trajectories",
            "contact": "6a1f0c2e-5b7d-4e8f-9a0b-contact00001",
            "emails": ["katherine@example.com"],
            "phones": [{ "type": "work", "value": "+1 757 555 0100" }],
            "links": [],
            "location": "Hampton",
            "stage": "7d2e4c10-a1b2-4c3d-8e9f-000000000001",
            "stageChanges": [
                { "toStageId": "7d2e4c10-a1b2-4c3d-8e9f-000000000001", "toStageIndex": 3, "updatedAt": 1763856000000u64, "userId": "globex-user-1" }
            ],
            "origin": "agency",
            "sources": ["Partner"],
            "tags": [],
            "owner": "globex-user-1",
            "applications": ["globex-application-1"],
            "createdAt": 1763769600000u64,
            "updatedAt": 1763856000000u64,
            "lastInteractionAt": 1763856000000u64,
            "lastAdvancedAt": 1763856000000u64,
            "_postingId": "globex-posting-1"
        })],
        archive_reasons: vec![
            json!({ "id": "globex-reason-hired", "text": "Hired", "status": "active", "type": "hired" }),
            json!({ "id": "globex-reason-withdrew", "text": "Candidate withdrew", "status": "active", "type": "non-hired" }),
            json!({ "id": "globex-reason-old", "text": "Position filled (old)", "status": "inactive", "type": "non-hired" }),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded(text: &str) -> Value {
        fixture(text)["response"]["data"].clone()
    }

    fn missing_keys(recorded: &Value, shown: &Value) -> Vec<String> {
        recorded
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| shown.get(k.as_str()).is_none())
            .cloned()
            .collect()
    }

    #[test]
    fn every_recorded_field_is_present() {
        let users = recorded(include_str!(
            "../../../../../tests/fixtures/lever/recorded/get-users.json"
        ));
        let posting = recorded(include_str!(
            "../../../../../tests/fixtures/lever/recorded/get-posting.json"
        ));
        let opportunity = recorded(include_str!(
            "../../../../../tests/fixtures/lever/recorded/get-opportunity.json"
        ));
        for seed in [acme(), globex()] {
            for u in &seed.users {
                assert_eq!(
                    missing_keys(&users[0], &user(u.clone())),
                    Vec::<String>::new()
                );
            }
            for p in &seed.postings {
                let shown = super::posting(p.clone());
                assert_eq!(missing_keys(&posting, &shown), Vec::<String>::new());
                assert_eq!(
                    missing_keys(&posting["categories"], &shown["categories"]),
                    Vec::<String>::new()
                );
            }
            for o in &seed.opportunities {
                assert_eq!(
                    missing_keys(&opportunity, &super::opportunity(o.clone())),
                    Vec::<String>::new()
                );
            }
        }
    }
}
