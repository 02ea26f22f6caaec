//! Postings (create, update, list with filters) and contacts (get, update) in the
//! simulator, in Lever's shapes.

use serde_json::{json, Value};

use super::{active_user, code, error, list, one, seed, uuid, Account};
use crate::http_util::{now_ms, SimRequest, SimResponse};

const POSTING_STATES: [&str; 6] = [
    "published",
    "internal",
    "closed",
    "draft",
    "pending",
    "rejected",
];
const WORKPLACE_TYPES: [&str; 4] = ["onsite", "remote", "hybrid", "unspecified"];

/// `GET /postings`: `state`, `team`, `department`, `location`, `commitment`, `level`, `tag`,
/// `confidentiality`, or `updated_at_start|end` (which cannot be combined with the others).
pub(super) fn list_postings(a: &Account, request: &SimRequest) -> SimResponse {
    let categories = ["team", "department", "location", "commitment", "level"];
    let others = ["state", "tag", "distribution_channel", "group"]
        .iter()
        .chain(categories.iter())
        .any(|k| request.query(k).is_some());
    let number = |key: &str| request.query(key).and_then(|v| v.parse::<u64>().ok());
    let (start, end) = (number("updated_at_start"), number("updated_at_end"));
    if others && (start.is_some() || end.is_some()) {
        return error(
            400,
            code::BAD_REQUEST,
            "updated_at_start and updated_at_end cannot be combined with other filters",
        );
    }
    let states = request.query_all("state");
    let tags = request.query_all("tag");
    let postings = a
        .postings
        .iter()
        .filter(|p| states.is_empty() || states.iter().any(|f| p["state"] == *f))
        .filter(|p| {
            categories.iter().all(|k| {
                let wanted = request.query_all(k);
                wanted.is_empty() || wanted.iter().any(|w| p["categories"][*k] == *w)
            })
        })
        .filter(|p| {
            tags.is_empty()
                || tags.iter().any(|t| {
                    p["tags"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|x| x == *t))
                })
        })
        .filter(|p| {
            request.query("confidentiality") == Some("all")
                || p["confidentiality"] != "confidential"
        })
        .filter(|p| start.is_none_or(|t| p["updatedAt"].as_u64().unwrap_or(0) >= t))
        .filter(|p| end.is_none_or(|t| p["updatedAt"].as_u64().unwrap_or(0) <= t))
        .cloned()
        .collect();
    list(request, postings, a.offset_generation)
}

fn check_posting_fields(body: &Value) -> Result<(), SimResponse> {
    if let Some(state) = body.get("state").and_then(Value::as_str) {
        if !POSTING_STATES.contains(&state) {
            return Err(error(
                400,
                code::BAD_REQUEST,
                format!("Invalid state {state}"),
            ));
        }
    }
    if let Some(kind) = body.get("workplaceType").and_then(Value::as_str) {
        if !WORKPLACE_TYPES.contains(&kind) {
            return Err(error(
                400,
                code::BAD_REQUEST,
                format!("Invalid workplaceType {kind}"),
            ));
        }
    }
    if let Some(range) = body.get("salaryRange").filter(|r| !r.is_null()) {
        let all = ["min", "max", "currency", "interval"]
            .iter()
            .all(|k| range.get(k).is_some_and(|v| !v.is_null()));
        if !all {
            return Err(error(
                400,
                code::BAD_REQUEST,
                "salaryRange needs min, max, currency and interval",
            ));
        }
    }
    if body.get("confidentiality").and_then(Value::as_str) == Some("confidential") {
        return Err(error(
            400,
            code::BAD_REQUEST,
            "Confidential postings cannot be created through the API",
        ));
    }
    Ok(())
}

/// The request's `content` with `closingPostingHtml` as the posting shows it (`closingHtml`).
fn content(body: &Value) -> Value {
    let c = &body["content"];
    json!({
        "description": c["description"].as_str().unwrap_or(""),
        "descriptionHtml": c["descriptionHtml"].as_str().unwrap_or(""),
        "lists": c["lists"].as_array().cloned().unwrap_or_default(),
        "closing": c["closing"].as_str().unwrap_or(""),
        "closingHtml": c["closingPostingHtml"].as_str().unwrap_or(""),
    })
}

/// `POST /postings?perform_as=U`: one posting.
pub(super) fn create_posting(a: &mut Account, request: &SimRequest) -> SimResponse {
    let user = match active_user(a, request.query("perform_as")) {
        Ok(user) => user,
        Err(response) => return response,
    };
    let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
        return error(400, code::BAD_REQUEST, "Body must be JSON");
    };
    if body.is_array() {
        return error(400, code::BAD_REQUEST, "One posting per request");
    }
    let Some(text) = body["text"].as_str().filter(|t| !t.trim().is_empty()) else {
        return error(400, code::BAD_REQUEST, "text is required");
    };
    if let Err(response) = check_posting_fields(&body) {
        return response;
    }
    let now = now_ms();
    let id = uuid();
    let owner = body["owner"].as_str().unwrap_or(&user).to_string();
    let posting = seed::posting(json!({
        "id": id,
        "text": text,
        "state": body["state"].as_str().unwrap_or("draft"),
        "owner": owner,
        "user": user,
        "hiringManager": body["hiringManager"],
        "categories": body["categories"].as_object().cloned().unwrap_or_default(),
        "tags": body["tags"].as_array().cloned().unwrap_or_default(),
        "content": content(&body),
        "workplaceType": body["workplaceType"].as_str().unwrap_or("unspecified"),
        "requisitionCodes": body["requisitionCodes"].as_array().cloned().unwrap_or_default(),
        "salaryRange": body["salaryRange"],
        "createdAt": now,
        "updatedAt": now,
    }));
    a.postings.push(posting.clone());
    SimResponse::json(201, json!({ "data": posting }))
}

/// `POST /postings/:id?perform_as=U`: a partial update; `workplaceType` cannot go back to
/// `unspecified`.
pub(super) fn update_posting(a: &mut Account, id: &str, request: &SimRequest) -> SimResponse {
    if let Err(response) = active_user(a, request.query("perform_as")) {
        return response;
    }
    let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
        return error(400, code::BAD_REQUEST, "Body must be JSON");
    };
    if let Err(response) = check_posting_fields(&body) {
        return response;
    }
    let Some(posting) = a.postings.iter_mut().find(|p| p["id"] == id) else {
        return error(404, code::NOT_FOUND, "Posting not found");
    };
    if body["workplaceType"] == "unspecified" && posting["workplaceType"] != "unspecified" {
        return error(
            400,
            code::BAD_REQUEST,
            "workplaceType cannot be set back to unspecified",
        );
    }
    for key in [
        "text",
        "state",
        "owner",
        "hiringManager",
        "tags",
        "workplaceType",
        "requisitionCodes",
        "salaryRange",
    ] {
        if let Some(value) = body.get(key) {
            posting[key] = value.clone();
        }
    }
    if let Some(categories) = body["categories"].as_object() {
        for (k, v) in categories {
            posting["categories"][k] = v.clone();
        }
    }
    if body.get("content").is_some() {
        let mut merged = content(&body);
        for key in [
            "description",
            "descriptionHtml",
            "lists",
            "closing",
            "closingHtml",
        ] {
            let given = match key {
                "closingHtml" => body["content"].get("closingPostingHtml"),
                _ => body["content"].get(key),
            };
            if given.is_none() {
                merged[key] = posting["content"][key].clone();
            }
        }
        posting["content"] = merged;
    }
    posting["updatedAt"] = json!(now_ms());
    let data = posting.clone();
    SimResponse::json(200, json!({ "data": data }))
}

fn contact_of(a: &Account, id: &str) -> Option<Value> {
    if let Some(contact) = a.contacts.get(id) {
        return Some(contact.clone());
    }
    let o = a.opportunities.iter().find(|o| o["contact"] == id)?;
    Some(json!({
        "id": id,
        "name": o["name"],
        "headline": o["headline"],
        "isAnonymized": o["isAnonymized"].as_bool().unwrap_or(false),
        "location": { "name": o["location"].as_str().unwrap_or("") },
        "emails": o["emails"],
        "phones": o["phones"],
        "dataProtection": { "interviewIntelligence": { "allowed": true, "expiresAt": null } },
    }))
}

/// `GET /contacts/:id`.
pub(super) fn get_contact(a: &Account, id: &str) -> SimResponse {
    one(contact_of(a, id).as_ref(), "Contact")
}

/// `PUT /contacts/:id`: `name`, `headline`, `location` (a plain string), `emails`, `phones`;
/// fields left out are kept. The contact's opportunities show the new details.
pub(super) fn update_contact(a: &mut Account, id: &str, request: &SimRequest) -> SimResponse {
    let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
        return error(400, code::BAD_REQUEST, "Body must be JSON");
    };
    let Some(mut contact) = contact_of(a, id) else {
        return error(404, code::NOT_FOUND, "Contact not found");
    };
    if body
        .get("location")
        .is_some_and(|l| !l.is_string() && !l.is_null())
    {
        return error(400, code::BAD_REQUEST, "location must be a string");
    }
    for key in ["name", "headline", "emails", "phones"] {
        if let Some(value) = body.get(key) {
            contact[key] = value.clone();
        }
    }
    if let Some(location) = body["location"].as_str() {
        contact["location"] = json!({ "name": location });
    }
    let now = now_ms();
    for o in a.opportunities.iter_mut().filter(|o| o["contact"] == id) {
        for key in ["name", "headline", "emails", "phones"] {
            o[key] = contact[key].clone();
        }
        o["location"] = contact["location"]["name"].clone();
        o["updatedAt"] = json!(now);
    }
    a.contacts.insert(id.to_string(), contact.clone());
    let mut shown = contact;
    if let Some(map) = shown.as_object_mut() {
        map.remove("dataProtection");
        map.remove("isAnonymized");
    }
    SimResponse::json(200, json!({ "data": shown }))
}
