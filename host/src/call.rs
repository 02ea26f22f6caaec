//! `lever-host call`: invoke one typed export (the embedder's view) with plain arguments
//! and print its result as JSON, in the same wire shapes as the HTTP face ([`crate::wire`]).

use serde_json::{json, Value};

use crate::runtime::bindings::exports::lever::connector::setup;
use crate::server::Connector;
use crate::wire;

/// The functions `call` can invoke, with their arguments.
pub const USAGE: &str = "\
get-status <connection>
connect-api-key <connection> <api key>     (or set LEVER_API_KEY and pass -)
begin-oauth <connection>
complete-oauth <code> <state>
list-lever-stages <connection>
list-lever-users <connection>
list-lever-postings <connection> [state]
set-stage-map <connection> '<JSON object of Lever stage id to partner stage>'
get-stage-map <connection>
set-perform-as <connection> <lever user id>
set-upload-stage <connection> [stage id]   (none: the default rule)
link-role <connection> <partner role id> <posting id>
unlink-role <connection> <partner role id>
list-roles <connection>
install-webhooks <connection>
disconnect <connection> [purge]
submit-candidate <connection> <file with the JSON of POST /connections/{c}/candidates>
set-candidate-stage <connection> <partner candidate id> <partner stage>
reject-candidate <connection> <partner candidate id> [reason]
reconcile <connection>
list-connections
action <connection> <action> '<JSON input, as for POST /connections/{c}/actions/{action}>'
proxy <connection> <METHOD> <path below the API root> ['<JSON body>']
enable-triggers <connection> <trigger>...
poll-postings <connection>
poll-trigger <connection> <trigger> [cursor]
link-candidate <connection> <partner candidate id> <opportunity id>
get-linked-candidate <connection> <opportunity id>
handle-lever-webhook <connection> <file with the raw delivery body>
tick
list-dead-letters <connection>
replay-dead-letter <connection> <delivery token>";

fn arg<'a>(args: &'a [String], index: usize, name: &str) -> anyhow::Result<&'a String> {
    args.get(index)
        .ok_or_else(|| anyhow::anyhow!("missing argument <{name}>\n\nfunctions:\n{USAGE}"))
}

fn to_json<T: serde::Serialize>(value: T) -> anyhow::Result<Value> {
    Ok(serde_json::to_value(value)?)
}

/// Calls `function` with `args`. `Ok(Ok(json))` on success, `Ok(Err(json))` when the
/// component answered with a connector error (`{"error": {...}}`), `Err` for a bad command
/// line or a host fault.
pub async fn run(
    connector: &Connector,
    function: &str,
    args: &[String],
) -> anyhow::Result<Result<Value, Value>> {
    let (mut store, instance) = connector.typed().await?;
    let s = &mut store;
    let setup_face = instance.lever_connector_setup();
    let partner = instance.lever_connector_partner();
    let c = || arg(args, 0, "connection");
    let result = match function {
        "get-status" => match setup_face.call_get_status(&mut *s, c()?).await? {
            Ok(status) => Ok(to_json(wire::status(status)?)?),
            Err(e) => Err(e),
        },
        "connect-api-key" => {
            let key = match arg(args, 1, "api key")?.as_str() {
                "-" => std::env::var("LEVER_API_KEY")
                    .map_err(|_| anyhow::anyhow!("LEVER_API_KEY is not set"))?,
                key => key.to_string(),
            };
            let connection = c()?;
            setup_face
                .call_connect_api_key(&mut *s, connection, &key)
                .await?
                .map(|()| json!({ "connected": { "connection": connection, "auth": "api-key" } }))
        }
        "begin-oauth" => setup_face
            .call_begin_oauth(&mut *s, c()?)
            .await?
            .map(|url| json!({ "authorizeUrl": url })),
        "complete-oauth" => {
            let callback = setup::OauthCallback {
                code: Some(arg(args, 0, "code")?.clone()),
                state: Some(arg(args, 1, "state")?.clone()),
                error: None,
                error_description: None,
            };
            match setup_face.call_complete_oauth(&mut *s, &callback).await? {
                Ok(connected) => Ok(json!({ "connected": wire::connected(connected)? })),
                Err(e) => Err(e),
            }
        }
        "list-lever-stages" => match setup_face.call_list_lever_stages(&mut *s, c()?).await? {
            Ok(stages) => Ok(
                json!({ "data": to_json(stages.into_iter().map(wire::stage).collect::<Vec<_>>())? }),
            ),
            Err(e) => Err(e),
        },
        "list-lever-users" => match setup_face.call_list_lever_users(&mut *s, c()?).await? {
            Ok(users) => Ok(
                json!({ "data": to_json(users.into_iter().map(wire::user).collect::<Vec<_>>())? }),
            ),
            Err(e) => Err(e),
        },
        "list-lever-postings" => {
            let state = args.get(1).cloned();
            setup_face
                .call_list_lever_postings(&mut *s, c()?, state.as_deref())
                .await?
                .map(|postings| {
                    let data: Vec<Value> = postings
                        .into_iter()
                        .map(|p| json!({ "id": p.id, "text": p.text, "state": p.state, "updatedAt": p.updated_at }))
                        .collect();
                    json!({ "data": data })
                })
        }
        "set-stage-map" => {
            let map: serde_json::Map<String, Value> =
                serde_json::from_str(arg(args, 1, "json")?)
                    .map_err(|e| anyhow::anyhow!("set-stage-map takes a JSON object: {e}"))?;
            let mappings = map
                .into_iter()
                .map(|(lever_stage_id, partner)| {
                    let partner_stage = partner
                        .as_str()
                        .ok_or_else(|| anyhow::anyhow!("stage map values must be strings"))?
                        .to_string();
                    Ok(setup::StageMapping {
                        lever_stage_id,
                        partner_stage,
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            setup_face
                .call_set_stage_map(&mut *s, c()?, &mappings)
                .await?
                .map(|()| json!({ "mappedStages": mappings.len() }))
        }
        "get-stage-map" => setup_face
            .call_get_stage_map(&mut *s, c()?)
            .await?
            .map(|mappings| {
                Value::Object(
                    mappings
                        .into_iter()
                        .map(|m| (m.lever_stage_id, json!(m.partner_stage)))
                        .collect(),
                )
            }),
        "set-perform-as" => match setup_face
            .call_set_perform_as(&mut *s, c()?, arg(args, 1, "lever user id")?)
            .await?
        {
            Ok(user) => Ok(json!({ "performAs": to_json(wire::user(user))? })),
            Err(e) => Err(e),
        },
        "set-upload-stage" => {
            let stage = args.get(1).cloned();
            match setup_face
                .call_set_upload_stage(&mut *s, c()?, stage.as_ref())
                .await?
            {
                Ok(stage) => Ok(json!({
                    "source": if stage.is_some() { "configured" } else { "default" },
                    "uploadStage": to_json(stage.map(wire::stage))?,
                })),
                Err(e) => Err(e),
            }
        }
        "link-role" => setup_face
            .call_link_role(
                &mut *s,
                c()?,
                arg(args, 1, "role")?,
                arg(args, 2, "posting id")?,
            )
            .await?
            .map(|()| json!({ "role": args[1], "postingId": args[2] })),
        "unlink-role" => setup_face
            .call_unlink_role(&mut *s, c()?, arg(args, 1, "role")?)
            .await?
            .map(|()| json!({ "unlinked": args[1] })),
        "list-roles" => match setup_face.call_list_roles(&mut *s, c()?).await? {
            Ok(roles) => Ok(
                json!({ "data": to_json(roles.into_iter().map(wire::role).collect::<Vec<_>>())? }),
            ),
            Err(e) => Err(e),
        },
        "install-webhooks" => match setup_face.call_install_webhooks(&mut *s, c()?).await? {
            Ok(report) => Ok(to_json(wire::install_report(report))?),
            Err(e) => Err(e),
        },
        "disconnect" => {
            let purge = args.get(1).is_some_and(|a| a == "purge" || a == "--purge");
            match setup_face.call_disconnect(&mut *s, c()?, purge).await? {
                Ok(report) => Ok(json!({ "disconnected": wire::disconnected(c()?, report)? })),
                Err(e) => Err(e),
            }
        }
        "submit-candidate" => {
            let path = arg(args, 1, "file")?.as_str();
            let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("reading {path}: {e}"))?;
            let body: lever_plugin::sync::upload::SubmissionBody = serde_json::from_str(&text)
                .map_err(|e| anyhow::anyhow!("{path} is not a submission: {e}"))?;
            let submission = match lever_plugin::sync::upload::Submission::try_from(body) {
                Ok(submission) => wire::submission(submission),
                Err(e) => return Ok(Err(e.to_json())),
            };
            partner
                .call_submit_candidate(&mut *s, c()?, &submission)
                .await?
                .map(|u| json!({
                    "connectionId": c().ok(),
                    "partnerCandidateId": submission.partner_candidate_id,
                    "opportunityId": u.opportunity_id,
                    "url": u.url,
                    "postingId": u.posting_id,
                    "stageId": u.stage_id,
                    "deduped": u.deduped,
                    "created": u.created,
                }))
        }
        "set-candidate-stage" | "reject-candidate" => {
            use crate::runtime::bindings::exports::lever::connector::partner::CandidateMove;
            let requested = if function == "reject-candidate" {
                CandidateMove::Rejected(args.get(2).cloned())
            } else {
                CandidateMove::Stage(arg(args, 2, "partner stage")?.clone())
            };
            partner
                .call_set_candidate_stage(&mut *s, c()?, arg(args, 1, "partner candidate id")?, &requested)
                .await?
                .map(|m| json!({
                    "connectionId": c().ok(),
                    "partnerCandidateId": args[1],
                    "opportunityId": m.opportunity_id,
                    "leverStageId": m.lever_stage_id,
                    "archiveReasonId": m.archive_reason_id,
                    "changed": m.changed,
                }))
        }
        "reconcile" => partner.call_reconcile(&mut *s, c()?).await?.map(|r| {
            json!({ "connectionId": c().ok(), "changed": r.changed, "tracked": r.tracked, "fixed": r.fixed, "cursor": r.cursor })
        }),
        "action" => {
            let input: Value = match args.get(2) {
                Some(text) => serde_json::from_str(text)
                    .map_err(|e| anyhow::anyhow!("the action input is not JSON: {e}"))?,
                None => json!({}),
            };
            wire::call_action(connector, c()?, arg(args, 1, "action")?, &input).await?
        }
        "proxy" => {
            use crate::runtime::bindings::exports::lever::connector::{actions, types};
            let method = match arg(args, 1, "method")?.to_ascii_uppercase().as_str() {
                "GET" => types::HttpMethod::Get,
                "POST" => types::HttpMethod::Post,
                "PUT" => types::HttpMethod::Put,
                "DELETE" => types::HttpMethod::Delete,
                "PATCH" => types::HttpMethod::Patch,
                other => anyhow::bail!("method {other:?}: GET, POST, PUT, DELETE or PATCH"),
            };
            let raw = arg(args, 2, "path")?;
            let (path, query) = raw.split_once('?').unwrap_or((raw.as_str(), ""));
            let request = actions::ProxyRequest {
                method,
                path: path.to_string(),
                query: url::form_urlencoded::parse(query.as_bytes()).into_owned().collect(),
                body: args.get(3).cloned(),
                perform_as: false,
            };
            instance
                .lever_connector_actions()
                .call_proxy(&mut *s, c()?, &request)
                .await?
                .map(|r| {
                    json!({ "status": r.status, "body": serde_json::from_str::<Value>(&r.body).unwrap_or(Value::String(r.body)) })
                })
        }
        "enable-triggers" => {
            let kinds = args
                .iter()
                .skip(1)
                .map(|k| wire::trigger_kind(k))
                .collect::<anyhow::Result<Vec<_>>>()?;
            instance
                .lever_connector_triggers()
                .call_enable(&mut *s, c()?, &kinds)
                .await?
                .map(|()| json!({ "enabled": args[1..] }))
        }
        "poll-postings" => instance
            .lever_connector_triggers()
            .call_poll_postings(&mut *s, c()?)
            .await?
            .map(|p| json!({ "created": p.created, "updated": p.updated, "cursor": p.cursor })),
        "poll-trigger" => instance
            .lever_connector_triggers()
            .call_poll(
                &mut *s,
                c()?,
                wire::trigger_kind(arg(args, 1, "trigger")?)?,
                args.get(2).map(String::as_str),
            )
            .await?
            .map(|b| wire::batch_json(&b)),
        "list-connections" => setup_face
            .call_list_connections(&mut *s)
            .await?
            .map(|ids| json!({ "data": ids })),
        "link-candidate" => partner
            .call_link_candidate(
                &mut *s,
                c()?,
                arg(args, 1, "partner candidate id")?,
                arg(args, 2, "opportunity id")?,
            )
            .await?
            .map(|()| json!({ "partnerCandidateId": args[1], "opportunityId": args[2] })),
        "get-linked-candidate" => partner
            .call_get_linked_candidate(&mut *s, c()?, arg(args, 1, "opportunity id")?)
            .await?
            .map(|id| json!({ "partnerCandidateId": id })),
        "handle-lever-webhook" => {
            let path = arg(args, 1, "file")?.as_str();
            let body = std::fs::read(path).map_err(|e| anyhow::anyhow!("reading {path}: {e}"))?;
            match instance
                .lever_connector_webhooks()
                .call_handle_lever_webhook(&mut *s, c()?, &body)
                .await?
            {
                Ok(receipt) => Ok(to_json(wire::receipt(receipt)?)?),
                Err(e) => Err(e),
            }
        }
        "tick" => match instance.lever_connector_webhooks().call_tick(&mut *s).await? {
            Ok(r) => Ok(json!({
                "attempted": r.attempted,
                "delivered": r.delivered,
                "rescheduled": r.rescheduled,
                "deadLettered": r.dead_lettered,
                "swept": r.swept,
                "waiting": r.waiting,
            })),
            Err(e) => Err(e),
        },
        "list-dead-letters" => match setup_face.call_list_dead_letters(&mut *s, c()?).await? {
            Ok(letters) => Ok(json!({ "data": letters.into_iter().map(|d| json!({
                "token": d.token,
                "event": d.event,
                "attempts": d.attempts,
                "acceptedAt": d.accepted_at,
                "lastError": d.last_error,
            })).collect::<Vec<_>>() })),
            Err(e) => Err(e),
        },
        "replay-dead-letter" => {
            let token = arg(args, 1, "delivery token")?;
            match setup_face
                .call_replay_dead_letter(&mut *s, c()?, token)
                .await?
            {
                Ok(state) => Ok(json!({ "token": token, "state": wire::delivery_state(state) })),
                Err(e) => Err(e),
            }
        }
        other => anyhow::bail!("unknown function {other:?}\n\nfunctions:\n{USAGE}"),
    };
    Ok(result.map_err(|e| wire::error(&e).to_json()))
}
