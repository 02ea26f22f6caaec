//! The rest of Lever's Data API, kept generically: notes, interviews and panels, feedback
//! and its templates, offers, referrals, resumes and files, applications, requisitions and
//! their fields, users' lifecycle, application forms, EEO responses, deleted objects, sources,
//! tags and disposition stages. Each record kind starts from the shape Lever answered in
//! the recorded exchange (`tests/fixtures/lever/recorded/`), so every field Lever sends is
//! there; created records take the request's fields, a new id and the time.

use serde_json::{json, Value};

use super::{code, error, list, now_ms, one, public_opportunity, uuid, Account, Fire};
use crate::http_util::{SimRequest, SimResponse};

macro_rules! recorded {
    ($file:literal) => {
        include_str!(concat!(
            "../../../../../tests/fixtures/lever/recorded/",
            $file
        ))
    };
}

/// The `data` a recorded exchange answered (a list's first item).
fn template(text: &str) -> Value {
    let exchange: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    match &exchange["response"]["data"] {
        Value::Array(items) => items.first().cloned().unwrap_or(json!({})),
        other => other.clone(),
    }
}

/// One kind of record.
struct Kind {
    /// Its collection's path segment.
    name: &'static str,
    /// Whether it lives under an opportunity.
    under_opportunity: bool,
    /// What Lever calls it in errors.
    what: &'static str,
    /// The recorded exchanges its shape comes from (their fields together).
    shape: &'static [&'static str],
    /// Whether writes need `perform_as`.
    perform_as: bool,
}

const KINDS: &[Kind] = &[
    Kind {
        name: "notes",
        under_opportunity: true,
        what: "Note",
        shape: &[recorded!("get-note.json"), recorded!("create-note.json")],
        perform_as: true,
    },
    Kind {
        name: "interviews",
        under_opportunity: true,
        what: "Interview",
        shape: &[recorded!("get-interview.json")],
        perform_as: true,
    },
    Kind {
        name: "panels",
        under_opportunity: true,
        what: "Panel",
        shape: &[recorded!("create-panel.json")],
        perform_as: true,
    },
    Kind {
        name: "feedback",
        under_opportunity: true,
        what: "Feedback",
        shape: &[recorded!("get-feedback.json")],
        perform_as: true,
    },
    Kind {
        name: "offers",
        under_opportunity: true,
        what: "Offer",
        shape: &[],
        perform_as: true,
    },
    Kind {
        name: "referrals",
        under_opportunity: true,
        what: "Referral",
        shape: &[],
        perform_as: true,
    },
    Kind {
        name: "resumes",
        under_opportunity: true,
        what: "Resume",
        shape: &[],
        perform_as: true,
    },
    Kind {
        name: "files",
        under_opportunity: true,
        what: "File",
        shape: &[],
        perform_as: true,
    },
    Kind {
        name: "file_actions",
        under_opportunity: true,
        what: "File action",
        shape: &[],
        perform_as: true,
    },
    Kind {
        name: "applications",
        under_opportunity: true,
        what: "Application",
        shape: &[recorded!("get-application.json")],
        perform_as: true,
    },
    Kind {
        name: "feedback_templates",
        under_opportunity: false,
        what: "Feedback template",
        shape: &[recorded!("get-feedback-template.json")],
        perform_as: false,
    },
    Kind {
        name: "requisitions",
        under_opportunity: false,
        what: "Requisition",
        shape: &[
            recorded!("get-requisitions.json"),
            recorded!("get-requisition.json"),
            recorded!("create-requisition.json"),
        ],
        perform_as: false,
    },
    Kind {
        name: "requisition_fields",
        under_opportunity: false,
        what: "Requisition field",
        shape: &[recorded!("get-requisition-fields.json")],
        perform_as: false,
    },
];

fn kind(name: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.name == name)
}

fn records<'a>(a: &'a mut Account, kind: &Kind) -> &'a mut Vec<Value> {
    if kind.name == "notes" {
        return &mut a.notes;
    }
    a.records.entry(kind.name).or_default()
}

fn body(request: &SimRequest) -> Result<Value, SimResponse> {
    if request.body.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(&request.body)
        .map_err(|_| error(400, code::BAD_REQUEST, "Body must be JSON"))
}

fn needs(body: &Value, fields: &[&str]) -> Result<(), SimResponse> {
    match fields.iter().find(|f| body[**f].is_null()) {
        Some(field) => Err(error(
            400,
            code::BAD_REQUEST,
            format!("{field} is required"),
        )),
        None => Ok(()),
    }
}

/// The user an interviewer reference `{id}` names, shown as Lever shows interviewers.
fn interviewers(a: &Account, given: &Value) -> Value {
    let shown: Vec<Value> = given
        .as_array()
        .map(|list| {
            list.iter()
                .map(|i| {
                    let user = a.users.iter().find(|u| u["id"] == i["id"]);
                    json!({
                        "id": i["id"],
                        "name": user.map_or(Value::Null, |u| u["name"].clone()),
                        "email": user.map_or(Value::Null, |u| u["email"].clone()),
                        "responseStatus": "needsAction",
                        "feedbackTemplate": i.get("feedbackTemplate").cloned().unwrap_or(json!("no-feedback")),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Value::Array(shown)
}

/// A new record of `kind` from its recorded shape and the request's body.
fn new_record(
    a: &mut Account,
    kind: &Kind,
    opportunity: Option<&str>,
    body: &Value,
    user: Option<&str>,
) -> Result<Value, SimResponse> {
    let mut record = json!({});
    for shape in kind.shape {
        if let (Some(map), Value::Object(fields)) = (record.as_object_mut(), template(shape)) {
            for (key, value) in fields {
                map.entry(key).or_insert(value);
            }
        }
    }
    let now = now_ms();
    let id = uuid();
    if let (Some(map), Some(given)) = (record.as_object_mut(), body.as_object()) {
        for (key, value) in given {
            map.insert(key.clone(), value.clone());
        }
    }
    record["id"] = json!(id);
    record["createdAt"] = json!(now);
    if record.get("updatedAt").is_some() {
        record["updatedAt"] = json!(now);
    }
    if let Some(opportunity) = opportunity {
        record["_opportunityId"] = json!(opportunity);
    }
    if kind.perform_as {
        record["user"] = json!(user);
    }
    match kind.name {
        "notes" => {
            needs(body, &["value"])?;
            record["text"] = json!("Note");
            record["fields"] = json!([{
                "createdAt": now, "score": body.get("score").cloned().unwrap_or(Value::Null),
                "stage": stage_of(a, opportunity), "text": "Comment", "type": "note",
                "user": user, "value": body["value"],
            }]);
            record["completedAt"] = json!(now);
            record["deletedAt"] = Value::Null;
            record["secret"] = json!(body["secret"].as_bool().unwrap_or(false));
            record["noteId"] = json!(id);
            if let Some(map) = record.as_object_mut() {
                map.remove("value");
                map.remove("notifyFollowers");
            }
        }
        "feedback" => {
            needs(body, &["baseTemplateId"])?;
            let base = records(a, template_kind())
                .iter()
                .find(|t| t["id"] == body["baseTemplateId"])
                .cloned()
                .ok_or_else(|| error(404, code::NOT_FOUND, "Feedback template not found"))?;
            record["text"] = base["text"].clone();
            record["fields"] = answered(&base["fields"], &body["fieldValues"]);
            record["accountId"] = json!(account_of(a));
            record["userId"] = json!(user);
            record["profileId"] = json!(opportunity);
            // Feedback for an interview is one of the interview's forms.
            if let Some(interview) = records(a, kind_named("interviews"))
                .iter_mut()
                .find(|i| !body["interview"].is_null() && i["id"] == body["interview"])
            {
                let mut forms = interview["feedbackForms"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                forms.push(json!(id));
                interview["feedbackForms"] = json!(forms);
            }
            record["completedAt"] = body.get("completedAt").cloned().unwrap_or(json!(now));
            record["updatedAt"] = Value::Null;
            if let Some(map) = record.as_object_mut() {
                map.remove("fieldValues");
            }
        }
        "panels" => {
            needs(body, &["timezone", "interviews"])?;
            let mut interviews = Vec::new();
            for given in body["interviews"].as_array().cloned().unwrap_or_default() {
                needs(&given, &["subject", "interviewers", "date", "duration"])?;
                let mut interview = given.clone();
                interview["id"] = json!(uuid());
                interview["interviewers"] = interviewers(a, &given["interviewers"]);
                interview["feedbackTemplate"] = given
                    .get("feedbackTemplate")
                    .cloned()
                    .unwrap_or(json!("no-feedback"));
                interview["feedbackReminder"] = json!("daily");
                interview["location"] = given.get("location").cloned().unwrap_or(Value::Null);
                interviews.push(interview);
            }
            let end = interviews
                .iter()
                .map(|i| {
                    i["date"].as_u64().unwrap_or(0) + i["duration"].as_u64().unwrap_or(0) * 60_000
                })
                .max();
            record["interviews"] = json!(interviews);
            record["start"] = json!(interviews.first().map(|i| i["date"].clone()));
            record["end"] = json!(end);
            record["externallyManaged"] =
                json!(body["externallyManaged"].as_bool().unwrap_or(true));
            record["canceledAt"] = Value::Null;
            let panel_id = id.clone();
            for interview in &interviews {
                let mut shown = template(recorded!("get-interview.json"));
                if let (Some(map), Some(given)) = (shown.as_object_mut(), interview.as_object()) {
                    for (key, value) in given {
                        map.insert(key.clone(), value.clone());
                    }
                }
                shown["panel"] = json!(panel_id);
                shown["timezone"] = body["timezone"].clone();
                shown["createdAt"] = json!(now);
                shown["user"] = json!(user);
                shown["stage"] = json!(stage_of(a, opportunity));
                shown["canceledAt"] = Value::Null;
                shown["_opportunityId"] = json!(opportunity);
                records(a, kind_named("interviews")).push(shown);
            }
        }
        "interviews" => {
            needs(
                body,
                &["panel", "subject", "interviewers", "date", "duration"],
            )?;
            let panels = records(a, kind_named("panels"));
            let Some(panel) = panels
                .iter_mut()
                .find(|p| p["id"] == body["panel"] && p["_opportunityId"] == json!(opportunity))
            else {
                return Err(error(404, code::NOT_FOUND, "Panel not found"));
            };
            if panel["externallyManaged"] != json!(true) {
                return Err(error(
                    400,
                    code::BAD_REQUEST,
                    "Interviews can only be added to panels created through the API",
                ));
            }
            let timezone = panel["timezone"].clone();
            record["timezone"] = body.get("timezone").cloned().unwrap_or(timezone);
            record["interviewers"] = interviewers(a, &body["interviewers"]);
            record["stage"] = json!(stage_of(a, opportunity));
            record["canceledAt"] = Value::Null;
        }
        "feedback_templates" => {
            needs(body, &["text", "fields"])?;
            record["fields"] = template_fields(&body["fields"]);
        }
        "requisitions" => {
            needs(body, &["requisitionCode", "name", "headcountTotal"])?;
            record["creator"] = json!(user);
            record["headcountHired"] = json!(0);
        }
        _ => {}
    }
    Ok(record)
}

/// A feedback template's fields as Lever keeps them: each with an id and every key.
fn template_fields(given: &Value) -> Value {
    let fields: Vec<Value> = given
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|mut f| {
            if f.get("id").is_none() {
                f["id"] = json!(uuid());
            }
            for (key, default) in [
                ("description", json!("")),
                ("required", json!(false)),
                ("prompt", json!("Select one")),
                ("options", json!([])),
            ] {
                if f.get(key).is_none() {
                    f[key] = default;
                }
            }
            f
        })
        .collect();
    Value::Array(fields)
}

fn template_kind() -> &'static Kind {
    kind_named("feedback_templates")
}

fn kind_named(name: &str) -> &'static Kind {
    kind(name).unwrap_or(&KINDS[0])
}

/// A template's fields with the given answers (`[{id, value}]`).
fn answered(fields: &Value, values: &Value) -> Value {
    let fields: Vec<Value> = fields
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, mut field)| {
            for (key, default) in [
                ("isSummary", json!(i == 0)),
                ("overall", json!(i == 0)),
                ("summaryText", json!("")),
            ] {
                if field.get(key).is_none() {
                    field[key] = default;
                }
            }
            let value = values
                .as_array()
                .and_then(|vs| vs.iter().find(|v| v["id"] == field["id"]))
                .map_or(Value::Null, |v| v["value"].clone());
            field["value"] = value;
            field
        })
        .collect();
    Value::Array(fields)
}

/// The account's id, as Lever shows it on records.
fn account_of(a: &Account) -> Value {
    a.users.first().map_or(Value::Null, |u| {
        u.get("accountId").cloned().unwrap_or(Value::Null)
    })
}

fn stage_of(a: &Account, opportunity: Option<&str>) -> Value {
    opportunity
        .and_then(|id| a.opportunities.iter().find(|o| o["id"] == id))
        .map_or(Value::Null, |o| o["stage"].clone())
}

fn shown(record: &Value) -> Value {
    public_opportunity(record)
}

/// What an opportunity's tags, sources and links look like after an add or a remove.
fn edit_list(a: &mut Account, id: &str, action: &str, body: &Value) -> SimResponse {
    let (field, adding) = match action {
        "addTags" => ("tags", true),
        "removeTags" => ("tags", false),
        "addSources" => ("sources", true),
        "removeSources" => ("sources", false),
        "addLinks" => ("links", true),
        "removeLinks" => ("links", false),
        _ => return error(404, code::NOT_FOUND, format!("No route for {action}")),
    };
    let Some(given) = body[field]
        .as_array()
        .filter(|l| l.iter().all(Value::is_string))
    else {
        return error(
            400,
            code::BAD_REQUEST,
            format!("{field} must be a list of strings"),
        );
    };
    let Some(opportunity) = a.opportunities.iter_mut().find(|o| o["id"] == id) else {
        return error(404, code::NOT_FOUND, "Opportunity not found");
    };
    let mut current = opportunity[field].as_array().cloned().unwrap_or_default();
    for value in given {
        if adding && !current.contains(value) {
            current.push(value.clone());
        }
        if !adding {
            current.retain(|v| v != value);
        }
    }
    opportunity[field] = json!(current);
    opportunity["updatedAt"] = json!(now_ms());
    SimResponse::json(200, json!({ "data": public_opportunity(opportunity) }))
}

/// Counts of a list field over the account's opportunities: `[{text, count}]`.
fn counts(a: &Account, field: &str) -> Vec<Value> {
    let mut counted: std::collections::BTreeMap<String, u64> = Default::default();
    for opportunity in &a.opportunities {
        for value in opportunity[field].as_array().into_iter().flatten() {
            if let Some(text) = value.as_str() {
                *counted.entry(text.to_string()).or_default() += 1;
            }
        }
    }
    counted
        .into_iter()
        .map(|(text, count)| json!({ "count": count, "text": text }))
        .collect()
}

/// Answers a request for one of these records, or `None` when the path is not theirs.
pub(super) fn route(
    account_id: &str,
    a: &mut Account,
    request: &SimRequest,
    path: &[&str],
) -> Option<(SimResponse, Vec<Fire>)> {
    let method = request.method.as_str();
    let user = request.query("perform_as");
    let generation = a.offset_generation;
    let response = match (method, path) {
        ("POST", ["opportunities", id, action])
            if action.starts_with("add") || action.starts_with("remove") =>
        {
            if user.is_none() {
                return Some((perform_as_missing(), vec![]));
            }
            match body(request) {
                Ok(body) => edit_list(a, id, action, &body),
                Err(e) => e,
            }
        }
        ("GET", ["opportunities", id, "applications", rest @ ..]) if rest.len() <= 1 => {
            let Some(opportunity) = a.opportunities.iter().find(|o| o["id"] == *id) else {
                return Some((error(404, code::NOT_FOUND, "Opportunity not found"), vec![]));
            };
            let shown = applications(opportunity);
            match rest {
                [] => list(request, shown, generation),
                [application] => one(
                    shown.iter().find(|x| x["id"] == *application),
                    "Application",
                ),
                _ => error(404, code::NOT_FOUND, "Application not found"),
            }
        }
        ("POST", ["opportunities", id, "files"]) => {
            if user.is_none() {
                return Some((perform_as_missing(), vec![]));
            }
            upload_file(a, id, request)
        }
        ("GET", ["opportunities", id, "files", file, "download"]) => {
            match records(a, kind_named("files"))
                .iter()
                .find(|f| f["id"] == *file && f["_opportunityId"] == *id)
            {
                Some(found) => {
                    use base64::Engine as _;
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(found["_bytes"].as_str().unwrap_or_default())
                        .unwrap_or_default();
                    let content_type = found["_contentType"]
                        .as_str()
                        .unwrap_or("application/octet-stream");
                    SimResponse::bytes(200, content_type, bytes)
                }
                None => error(404, code::NOT_FOUND, "File not found"),
            }
        }
        ("GET", ["opportunities", "deleted"]) => list(request, Vec::new(), generation),
        ("GET", ["applications", "deleted"]) => list(request, Vec::new(), generation),
        ("GET", ["postings", "deleted"]) => list(request, Vec::new(), generation),
        ("GET", ["sources"]) => list(request, counts(a, "sources"), generation),
        ("GET", ["tags"]) => list(request, counts(a, "tags"), generation),
        ("GET", ["disposition_stages"]) => {
            let stages: Vec<Value> = a
                .stages
                .iter()
                .enumerate()
                .map(|(i, s)| json!({ "id": s["id"], "text": s["text"], "pipeline": "applicant", "rank": i + 1, "hasInterview": false }))
                .collect();
            let reasons: Vec<Value> = a
                .archive_reasons
                .iter()
                .map(|r| json!({ "id": r["id"], "text": r["text"], "type": r["type"], "status": r["status"] }))
                .collect();
            SimResponse::json(
                200,
                json!({ "data": { "stages": stages, "archiveReasons": reasons } }),
            )
        }
        ("GET", ["eeo", "responses", ..]) => {
            let pii = path.len() == 3;
            let shape = if pii {
                template(recorded!("get-eeo-responses-pii.json"))
            } else {
                template(recorded!("get-eeo-responses.json"))
            };
            let responses: Vec<Value> = a
                .opportunities
                .iter()
                .filter(|o| !o["applications"].as_array().is_none_or(Vec::is_empty))
                .map(|o| {
                    let mut r = shape.clone();
                    r["currentStage"] = o["stage"].clone();
                    r["appliedAt"] = o["createdAt"].clone();
                    if pii {
                        r["opportunityId"] = o["id"].clone();
                        r["contact"] = o["contact"].clone();
                    }
                    r
                })
                .collect();
            list(request, responses, generation)
        }
        ("GET", ["postings", id, "apply"]) => match a.postings.iter().find(|p| p["id"] == *id) {
            Some(posting) => {
                let mut form = template(recorded!("postings-questions.json"));
                form["id"] = posting["id"].clone();
                form["text"] = posting["text"].clone();
                SimResponse::json(200, json!({ "data": form }))
            }
            None => error(404, code::NOT_FOUND, "Posting not found"),
        },
        ("POST", ["postings", id, "apply"]) => return Some(apply(account_id, a, request, id)),
        ("GET", ["postings", id, "users"]) => match a.postings.iter().find(|p| p["id"] == *id) {
            Some(posting) => {
                let exchange: Value =
                    serde_json::from_str(recorded!("get-posting-users.json")).unwrap_or_default();
                let mut answer = exchange["response"].clone();
                answer["posting"] = json!({ "id": posting["id"], "text": posting["text"] });
                SimResponse::json(200, answer)
            }
            None => error(404, code::NOT_FOUND, "Posting not found"),
        },
        ("POST", ["users"]) => {
            match body(request).and_then(|b| needs(&b, &["name", "email"]).map(|()| b)) {
                Ok(body) => {
                    let mut user = template(recorded!("create-user.json"));
                    if let (Some(map), Some(given)) = (user.as_object_mut(), body.as_object()) {
                        for (k, v) in given {
                            map.insert(k.clone(), v.clone());
                        }
                    }
                    user["id"] = json!(uuid());
                    user["createdAt"] = json!(now_ms());
                    user["deactivatedAt"] = Value::Null;
                    user["username"] =
                        json!(body["email"].as_str().unwrap_or_default().split('@').next());
                    a.users.push(user.clone());
                    SimResponse::json(201, json!({ "data": user }))
                }
                Err(e) => e,
            }
        }
        ("PUT", ["users", id]) => match body(request) {
            Ok(body) => match a.users.iter_mut().find(|u| u["id"] == *id) {
                Some(user) => {
                    if let (Some(map), Some(given)) = (user.as_object_mut(), body.as_object()) {
                        for (k, v) in given {
                            map.insert(k.clone(), v.clone());
                        }
                    }
                    SimResponse::json(200, json!({ "data": user }))
                }
                None => error(404, code::NOT_FOUND, "User not found"),
            },
            Err(e) => e,
        },
        ("POST", ["users", id, change @ ("deactivate" | "reactivate")]) => {
            match a.users.iter_mut().find(|u| u["id"] == *id) {
                Some(user) => {
                    user["deactivatedAt"] = if *change == "deactivate" {
                        json!(now_ms())
                    } else {
                        Value::Null
                    };
                    SimResponse::json(200, json!({ "data": user }))
                }
                None => error(404, code::NOT_FOUND, "User not found"),
            }
        }
        _ => return generic(account_id, a, request, path, user),
    };
    Some((response, vec![]))
}

/// `POST /opportunities/:id/files`: one multipart `file` (Lever's 30 MB limit).
fn upload_file(a: &mut Account, opportunity: &str, request: &SimRequest) -> SimResponse {
    use base64::Engine as _;
    if !a.opportunities.iter().any(|o| o["id"] == opportunity) {
        return error(404, code::NOT_FOUND, "Opportunity not found");
    }
    let content_type = request
        .headers
        .get("content-type")
        .map(String::as_str)
        .unwrap_or_default();
    let Some(boundary) = super::multipart::boundary(content_type) else {
        return error(
            400,
            code::BAD_REQUEST,
            "Files are uploaded as multipart/form-data",
        );
    };
    let parts = match super::multipart::parse(&request.body, &boundary) {
        Ok(parts) => parts,
        Err(e) => {
            return error(
                400,
                code::BAD_REQUEST,
                format!("Malformed multipart body: {e}"),
            )
        }
    };
    let Some(file) = parts
        .into_iter()
        .find(|p| p.name == "file" && p.filename.is_some())
    else {
        return error(400, code::BAD_REQUEST, "file is required");
    };
    if file.body.len() > 30 * 1024 * 1024 {
        return error(413, code::BAD_REQUEST, "Files are at most 30 MB");
    }
    let name = file.filename.unwrap_or_default();
    let id = uuid();
    let record = json!({
        "id": id,
        "downloadUrl": format!("https://api.lever.co/v1/opportunities/{opportunity}/files/{id}/download"),
        "ext": name.rsplit_once('.').map(|(_, e)| e.to_string()),
        "name": name,
        "uploadedAt": now_ms(),
        "status": "processed",
        "size": file.body.len(),
        "_opportunityId": opportunity,
        "_contentType": file.content_type.unwrap_or_else(|| "application/octet-stream".into()),
        "_bytes": base64::engine::general_purpose::STANDARD.encode(&file.body),
    });
    let shown = public_opportunity(&record);
    records(a, kind_named("files")).push(record);
    SimResponse::json(201, json!({ "data": shown }))
}

/// An opportunity's applications, in Lever's shape.
fn applications(opportunity: &Value) -> Vec<Value> {
    let shape = template(recorded!("get-application.json"));
    opportunity["applications"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|id| {
            let mut application = shape.clone();
            application["id"] = id.clone();
            application["opportunityId"] = opportunity["id"].clone();
            application["candidateId"] = opportunity["id"].clone();
            application["posting"] = opportunity["_postingId"].clone();
            application["createdAt"] = opportunity["createdAt"].clone();
            application["archived"] = opportunity["archived"].clone();
            application
        })
        .collect()
}

/// The account's first records: the recorded feedback templates and requisition fields.
pub(super) fn seed(a: &mut Account) {
    for (name, text) in [
        ("feedback_templates", recorded!("feedback-templates.json")),
        (
            "requisition_fields",
            recorded!("get-requisition-fields.json"),
        ),
    ] {
        let exchange: Value = serde_json::from_str(text).unwrap_or_default();
        let items = exchange["response"]["data"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        a.records.insert(name, items);
    }
}

/// `POST /postings/:id/apply`: the application form's required personal information must
/// be there; the candidate becomes an applied opportunity on the posting.
fn apply(
    account_id: &str,
    a: &mut Account,
    request: &SimRequest,
    posting: &str,
) -> (SimResponse, Vec<Fire>) {
    if !a.postings.iter().any(|p| p["id"] == posting) {
        return (error(404, code::NOT_FOUND, "Posting not found"), vec![]);
    }
    let body = match body(request) {
        Ok(body) => body,
        Err(e) => return (e, vec![]),
    };
    let given = |name: &str| {
        body["personalInformation"]
            .as_array()
            .and_then(|items| items.iter().find(|i| i["name"] == name))
            .and_then(|i| i["value"].as_str())
            .filter(|v| !v.trim().is_empty())
            .map(String::from)
    };
    let form = template(recorded!("postings-questions.json"));
    for field in form["personalInformation"].as_array().into_iter().flatten() {
        if field["required"] == true {
            let name = field["name"].as_str().unwrap_or_default();
            if given(name).is_none() {
                return (
                    error(
                        400,
                        code::BAD_REQUEST,
                        format!("personalInformation.{name} is required"),
                    ),
                    vec![],
                );
            }
        }
    }
    let performer = a
        .users
        .iter()
        .find(|u| u["deactivatedAt"].is_null())
        .map(|u| u["id"].as_str().unwrap_or_default().to_string())
        .unwrap_or_default();
    let create = SimRequest {
        method: "POST".into(),
        path: "/v1/opportunities".into(),
        query: vec![("perform_as".into(), performer)],
        headers: [("content-type".to_string(), "application/json".to_string())].into(),
        body: json!({
            "name": given("fullName"),
            "emails": [given("email")],
            "phones": given("phone").map(|p| json!([{ "value": p }])).unwrap_or(json!([])),
            "postings": [posting],
            "origin": "applied",
        })
        .to_string()
        .into_bytes()
        .into(),
    };
    let (created, fires) = super::create_opportunity(account_id, a, &create);
    let application = created
        .body
        .as_ref()
        .map(|b| b["data"]["applications"][0].clone())
        .unwrap_or(Value::Null);
    if created.status >= 300 {
        return (created, fires);
    }
    (
        SimResponse::json(201, json!({ "data": { "applicationId": application } })),
        fires,
    )
}

/// Lever's interview webhooks for `(interview, panel)` pairs of an opportunity.
fn interview_fires(
    account_id: &str,
    a: &Account,
    opportunity: Option<&str>,
    event: &'static str,
    interviews: &[(Value, Value)],
) -> Vec<Fire> {
    let Some(opportunity) = opportunity else {
        return Vec::new();
    };
    let contact = a
        .opportunities
        .iter()
        .find(|o| o["id"] == opportunity)
        .map_or(Value::Null, |o| o["contact"].clone());
    interviews
        .iter()
        .map(|(interview, panel)| Fire {
            account: account_id.to_string(),
            event,
            data: json!({
                "opportunityId": opportunity, "candidateId": contact, "contactId": contact,
                "interviewId": interview, "panelId": panel,
            }),
        })
        .collect()
}

fn perform_as_missing() -> SimResponse {
    error(400, code::BAD_REQUEST, "perform_as is required")
}

/// The generic list, get, create, update and delete of a record kind.
fn generic(
    account_id: &str,
    a: &mut Account,
    request: &SimRequest,
    path: &[&str],
    user: Option<&str>,
) -> Option<(SimResponse, Vec<Fire>)> {
    let method = request.method.as_str();
    let (opportunity, collection, id) = match path {
        ["opportunities", o, c] => (Some(*o), *c, None),
        ["opportunities", o, c, id] => (Some(*o), *c, Some(*id)),
        [c] => (None, *c, None),
        [c, id] => (None, *c, Some(*id)),
        _ => return None,
    };
    let kind = kind(collection)?;
    if kind.under_opportunity != opportunity.is_some() {
        return None;
    }
    if let Some(o) = opportunity {
        if !a.opportunities.iter().any(|x| x["id"] == o) {
            return Some((error(404, code::NOT_FOUND, "Opportunity not found"), vec![]));
        }
    }
    let generation = a.offset_generation;
    let belongs = |r: &Value| opportunity.is_none_or(|o| r["_opportunityId"] == o);
    let response = match (method, id) {
        ("GET", None) => {
            let items: Vec<Value> = records(a, kind)
                .iter()
                .filter(|r| belongs(r))
                .map(shown)
                .collect();
            list(request, items, generation)
        }
        ("GET", Some(id)) => {
            let found = records(a, kind)
                .iter()
                .find(|r| r["id"] == id && belongs(r))
                .map(shown);
            one(found.as_ref(), kind.what)
        }
        ("POST", None) => {
            if kind.perform_as && user.is_none() {
                return Some((perform_as_missing(), vec![]));
            }
            match body(request).and_then(|b| new_record(a, kind, opportunity, &b, user)) {
                Ok(record) => {
                    let answer = shown(&record);
                    let created: Vec<(Value, Value)> = match kind.name {
                        "interviews" => vec![(record["id"].clone(), record["panel"].clone())],
                        "panels" => record["interviews"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|i| (i["id"].clone(), record["id"].clone()))
                            .collect(),
                        _ => Vec::new(),
                    };
                    records(a, kind).push(record);
                    let fires =
                        interview_fires(account_id, a, opportunity, "interviewCreated", &created);
                    return Some((SimResponse::json(201, json!({ "data": answer })), fires));
                }
                Err(e) => e,
            }
        }
        ("PUT", Some(id)) => {
            let body = match body(request) {
                Ok(body) => body,
                Err(e) => return Some((e, vec![])),
            };
            if kind.name == "feedback" {
                if user.is_none() {
                    return Some((perform_as_missing(), vec![]));
                }
                if let Err(e) = needs(&body, &["fieldValues"]) {
                    return Some((e, vec![]));
                }
            }
            let items = records(a, kind);
            match items.iter_mut().find(|r| r["id"] == id && belongs(r)) {
                Some(record) => {
                    for (key, value) in body.as_object().cloned().unwrap_or_default() {
                        if kind.name == "feedback" && key == "fieldValues" {
                            record["fields"] = answered(&record["fields"], &value);
                        } else if kind.name == "interviews" && key == "interviewers" {
                            continue;
                        } else if kind.name == "feedback_templates" && key == "fields" {
                            record["fields"] = template_fields(&value);
                        } else {
                            record[key] = value;
                        }
                    }
                    record["updatedAt"] = json!(now_ms());
                    let given = body["interviewers"].clone();
                    let mut record = record.clone();
                    if kind.name == "interviews" && !given.is_null() {
                        let shown_interviewers = interviewers(a, &given);
                        record["interviewers"] = shown_interviewers.clone();
                        if let Some(stored) = records(a, kind).iter_mut().find(|r| r["id"] == id) {
                            stored["interviewers"] = shown_interviewers;
                        }
                    }
                    let fires = if kind.name == "interviews" {
                        let changed = [(record["id"].clone(), record["panel"].clone())];
                        interview_fires(account_id, a, opportunity, "interviewUpdated", &changed)
                    } else {
                        Vec::new()
                    };
                    return Some((
                        SimResponse::json(200, json!({ "data": shown(&record) })),
                        fires,
                    ));
                }
                None => error(404, code::NOT_FOUND, format!("{} not found", kind.what)),
            }
        }
        ("DELETE", Some(id)) => {
            let items = records(a, kind);
            let gone: Vec<Value> = items
                .iter()
                .filter(|r| r["id"] == id && belongs(r))
                .cloned()
                .collect();
            items.retain(|r| !(r["id"] == id && belongs(r)));
            let Some(record) = gone.first() else {
                return Some((
                    error(404, code::NOT_FOUND, format!("{} not found", kind.what)),
                    vec![],
                ));
            };
            // A panel takes its interviews with it.
            let deleted: Vec<(Value, Value)> = match kind.name {
                "interviews" => vec![(record["id"].clone(), record["panel"].clone())],
                "panels" => {
                    let panel = record["id"].clone();
                    let interviews = records(a, kind_named("interviews"));
                    let ids: Vec<(Value, Value)> = interviews
                        .iter()
                        .filter(|i| i["panel"] == panel)
                        .map(|i| (i["id"].clone(), panel.clone()))
                        .collect();
                    interviews.retain(|i| i["panel"] != panel);
                    ids
                }
                _ => Vec::new(),
            };
            let fires = interview_fires(account_id, a, opportunity, "interviewDeleted", &deleted);
            return Some((SimResponse::empty(204), fires));
        }
        _ => error(
            405,
            code::BAD_REQUEST,
            format!("{method} is not allowed on {}", path.join("/")),
        ),
    };
    Some((response, vec![]))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use base64::Engine as _;
    use serde_json::{json, Value};

    use super::super::{LeverSim, LeverSimOptions, DEFAULT_API_KEY};
    use crate::http_util::SimRequest;

    const DIR: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/lever/recorded"
    );

    /// Keys of `recorded` missing from `shown`, recursively (lists by their first items).
    fn missing(recorded: &Value, shown: &Value, at: &str, out: &mut Vec<String>) {
        match (recorded, shown) {
            (Value::Object(r), Value::Object(s)) => {
                for (key, value) in r {
                    // Lever adds `next` only when there is another page.
                    if key == "next" && at.is_empty() {
                        continue;
                    }
                    match s.get(key) {
                        None => out.push(format!("{at}.{key}")),
                        Some(shown) => missing(value, shown, &format!("{at}.{key}"), out),
                    }
                }
            }
            (Value::Array(r), Value::Array(s)) => {
                if let (Some(r), Some(s)) = (r.first(), s.first()) {
                    missing(r, s, &format!("{at}[0]"), out);
                }
            }
            _ => {}
        }
    }

    fn exchange(name: &str) -> Value {
        let text = std::fs::read_to_string(format!("{DIR}/{name}.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// Replaces the recorded account's ids in a body with the simulated account's.
    fn localize(body: &mut Value, ids: &BTreeMap<String, String>) {
        if let Some(map) = body.as_object_mut() {
            for (key, value) in map.iter_mut() {
                let local = match key.as_str() {
                    "postings" => Some(json!([ids["postingId"]])),
                    "reason" => Some(json!(ids["archiveReasonId"])),
                    "stage" => Some(json!(ids["stageId"])),
                    "baseTemplateId" => Some(json!(ids["feedbackTemplateId"])),
                    "url" => Some(json!(format!(
                        "https://example.com/hooks/{}",
                        super::uuid()
                    ))),
                    _ => None,
                };
                match local {
                    Some(local) => *value = local,
                    None => localize(value, ids),
                }
            }
        }
    }

    #[test]
    fn the_simulator_answers_every_recorded_exchange_in_levers_shape() {
        let sim = LeverSim::new(LeverSimOptions {
            rate_per_sec: 1000.0,
            burst: 1000.0,
            ..LeverSimOptions::default()
        });
        let acme = super::super::seed::acme();
        let mut ids: BTreeMap<String, String> = BTreeMap::new();
        ids.insert(
            "postingId".into(),
            acme.postings[0]["id"].as_str().unwrap().into(),
        );
        let reason = acme
            .archive_reasons
            .iter()
            .find(|r| r["type"] == "non-hired")
            .unwrap();
        ids.insert(
            "archiveReasonId".into(),
            reason["id"].as_str().unwrap().into(),
        );
        ids.insert(
            "stageId".into(),
            acme.stages[1]["id"].as_str().unwrap().into(),
        );
        let performer = acme.users[0]["id"].as_str().unwrap().to_string();
        let auth = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{DEFAULT_API_KEY}:"))
        );
        let mut names: Vec<String> = std::fs::read_dir(DIR)
            .unwrap()
            .map(|e| {
                e.unwrap()
                    .file_name()
                    .to_string_lossy()
                    .trim_end_matches(".json")
                    .to_string()
            })
            .collect();
        // Creates first (their ids are the later requests'), deletes last.
        let first = [
            "create-user",
            "create-opportunity",
            "create-feedback-template",
            "create-panel",
            "create-note",
            "create-feedback",
            "create-requisition",
            "create-webhook",
        ];
        let rank = |n: &str| match first.iter().position(|f| *f == n) {
            Some(i) => i,
            None if n.starts_with("delete") || n == "deactivate-user" => 200,
            None if n == "reactivate-user" => 201,
            None => 100,
        };
        names.sort_by_key(|n| (rank(n), n.clone()));
        assert_eq!(names.len(), 63);
        let mut failures = Vec::new();
        for name in &names {
            let recorded = exchange(name);
            let mut path = recorded["request"]["path"].as_str().unwrap().to_string();
            for (placeholder, id) in &ids {
                path = path.replace(&format!("{{{placeholder}}}"), id);
            }
            if path.contains('{') {
                failures.push(format!("{name}: no id for {path}"));
                continue;
            }
            let mut query: Vec<(String, String)> = recorded["request"]["query"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect();
            for (key, value) in &mut query {
                if key == "perform_as" {
                    *value = performer.clone();
                }
            }
            let mut body = recorded["request"]["body"].clone();
            localize(&mut body, &ids);
            let request = SimRequest {
                method: recorded["request"]["method"].as_str().unwrap().into(),
                path: path.clone(),
                query,
                headers: [("authorization".to_string(), auth.clone())].into(),
                body: if body.is_null() {
                    Default::default()
                } else {
                    body.to_string().into_bytes().into()
                },
            };
            let (answer, _) = sim.answer(&request);
            let expected = recorded["status"].as_u64().unwrap() as u16;
            if answer.status != expected {
                failures.push(format!(
                    "{name}: {path} answered {} {:?}, Lever {expected}",
                    answer.status, answer.body
                ));
                continue;
            }
            let shown = answer.body.clone().unwrap_or(Value::Null);
            let mut gaps = Vec::new();
            missing(&recorded["response"], &shown, "", &mut gaps);
            if !gaps.is_empty() {
                failures.push(format!("{name}: missing {gaps:?}"));
            }
            // The ids later requests use.
            let data = &shown["data"];
            let mut keep = |key: &str, value: &Value| {
                if let Some(id) = value.as_str() {
                    ids.entry(key.to_string()).or_insert_with(|| id.to_string());
                }
            };
            match name.as_str() {
                "create-user" => keep("userId", &data["id"]),
                "create-opportunity" => {
                    keep("opportunityId", &data["id"]);
                    keep("contactId", &data["contact"]);
                    keep("applicationId", &data["applications"][0]);
                }
                "create-feedback-template" => keep("feedbackTemplateId", &data["id"]),
                "create-panel" => {
                    keep("panelId", &data["id"]);
                    keep("interviewId", &data["interviews"][0]["id"]);
                }
                "create-note" => keep("noteId", &data["id"]),
                "create-feedback" => keep("feedbackId", &data["id"]),
                "create-requisition" => keep("requisitionId", &data["id"]),
                "create-webhook" => keep("webhookId", &data["id"]),
                _ => {}
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}
