//! One-click, self-healing webhooks: compare what we installed with what Lever has, then
//! create what is missing, repair a wrong URL with the batch `PUT /webhooks`, and leave
//! webhooks made in Lever's UI alone (warning when they duplicate ours).

use serde::Serialize;
use serde_json::json;

use super::conn_store;
use crate::auth;
use crate::config;
use crate::error::ConnectorError;
use crate::io::{Env, Method};
use crate::lever::{self, Webhook};
use crate::secret::Secret;
use crate::store::{ConnectionId, InstalledWebhook, WEBHOOK_EVENTS};

/// What to do about one event's webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Ours exists with the right URL.
    Keep(String),
    /// Ours exists with another URL: repair it (Lever id).
    Repair(String),
    /// Missing (never made, or deleted in Lever): create it.
    Create,
}

/// The plan for every event, and the warnings about webhooks that are not ours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// One step per event of [`WEBHOOK_EVENTS`], in order.
    pub steps: Vec<(&'static str, Step)>,
    /// Webhooks made elsewhere (Lever's UI) that deliver one of our events to our URL.
    pub warnings: Vec<String>,
}

/// Decides what to do, from what we stored and what Lever lists. Pure.
pub fn plan(stored: &[InstalledWebhook], listed: &[Webhook], target_url: &str) -> Plan {
    let steps = WEBHOOK_EVENTS
        .iter()
        .map(|event| {
            let ours = stored
                .iter()
                .find(|s| s.event == *event)
                .and_then(|s| listed.iter().find(|l| l.id == s.id));
            let step = match ours {
                Some(hook) if hook.url == target_url => Step::Keep(hook.id.clone()),
                Some(hook) => Step::Repair(hook.id.clone()),
                None => Step::Create,
            };
            (*event, step)
        })
        .collect();
    let warnings = listed
        .iter()
        .filter(|l| !stored.iter().any(|s| s.id == l.id))
        .filter(|l| l.url == target_url && WEBHOOK_EVENTS.contains(&l.event.as_str()))
        .map(|l| {
            format!(
                "webhook {} ({}) was made outside the connector and duplicates ours; its deliveries are refused (unknown signature token): delete it in Lever's settings",
                l.id, l.event
            )
        })
        .collect();
    Plan { steps, warnings }
}

/// One of our webhooks after an install.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstalledReport {
    /// The event.
    pub event: String,
    /// Lever's webhook id.
    pub id: String,
    /// Where it delivers.
    pub url: String,
    /// `created`, `repaired` or `unchanged`.
    pub action: &'static str,
}

/// What an install did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstallReport {
    /// Our webhooks.
    pub webhooks: Vec<InstalledReport>,
    /// About webhooks that are not ours, and the Super Admin step.
    pub warnings: Vec<String>,
}

/// Where Lever should deliver for a connection: `{public_base_url}/webhooks/lever/{c}`.
pub fn target_url(env: &Env, connection: &ConnectionId) -> Result<String, ConnectorError> {
    Ok(config::public_base_url(env.config)?
        .join(&["webhooks", "lever", connection.as_str()], &[])
        .to_string())
}

/// Creates or repairs the connection's webhooks. Idempotent: a second run changes nothing.
pub fn install(env: &Env, connection: &ConnectionId) -> Result<InstallReport, ConnectorError> {
    let target = target_url(env, connection)?;
    let sealer = config::sealer(env.config)?;
    let api = auth::lever_api(env, connection)?;
    let store = conn_store(env, connection);
    let stored = store.webhooks()?;
    let listed: Vec<Webhook> = lever::list_all(env, &api, &["webhooks"], &[])?;
    let plan = plan(&stored, &listed, &target);

    let repairs: Vec<serde_json::Value> = plan
        .steps
        .iter()
        .filter_map(|(_, step)| match step {
            Step::Repair(id) => Some(json!({ "id": id, "url": target })),
            _ => None,
        })
        .collect();
    if !repairs.is_empty() {
        let body = serde_json::to_vec(&json!({ "data": repairs }))
            .map_err(|e| ConnectorError::Internal(e.to_string()))?;
        let request = api.request(Method::Put, &["webhooks"], &[], Some(body));
        lever::interpret_body::<serde_json::Value>(lever::send(env, request)?)?;
    }

    let mut report = Vec::new();
    for (event, step) in &plan.steps {
        let (id, action) = match step {
            Step::Keep(id) => (id.clone(), "unchanged"),
            Step::Repair(id) => {
                if let Some(mut hook) = store.webhook(event)? {
                    hook.url = target.clone();
                    store.set_webhook(&hook)?;
                }
                (id.clone(), "repaired")
            }
            Step::Create => {
                let body = serde_json::to_vec(&json!({ "url": target, "event": event }))
                    .map_err(|e| ConnectorError::Internal(e.to_string()))?;
                let request = api.request(Method::Post, &["webhooks"], &[], Some(body));
                let created: Webhook = lever::interpret(lever::send(env, request)?)?;
                let token = created
                    .configuration
                    .signature_token
                    .clone()
                    .ok_or_else(|| ConnectorError::Upstream {
                        service: crate::error::Service::Lever,
                        status: 201,
                        message: "the created webhook came without its signature token".into(),
                    })?;
                store.delete_webhook(event)?;
                store.set_webhook(&InstalledWebhook {
                    id: created.id.clone(),
                    event: (*event).into(),
                    url: created.url.clone(),
                    signature_token: sealer.seal(
                        env.random,
                        connection.as_str(),
                        &format!("signature_token/{event}"),
                        &Secret::new(token),
                    )?,
                    created_at: env.clock.now(),
                })?;
                (created.id, "created")
            }
        };
        report.push(InstalledReport {
            event: (*event).into(),
            id,
            url: target.clone(),
            action,
        });
    }
    let mut warnings = plan.warnings;
    if report.iter().any(|r| r.action == "created") {
        warnings.push(
            "Lever delivers nothing from API-created webhooks until a Super Admin switches their events on (Settings → Integrations and API → Webhooks); status shows each webhook as awaiting-enablement until its first delivery".into(),
        );
    }
    Ok(InstallReport {
        webhooks: report,
        warnings,
    })
}

/// The signature tokens a delivery of `event` to this connection may be signed with: our
/// webhook's for that event, or all of ours for an event we did not subscribe to.
pub fn signature_tokens(
    env: &Env,
    connection: &ConnectionId,
    event: &str,
) -> Result<Vec<(String, Secret)>, ConnectorError> {
    let store = conn_store(env, connection);
    let hooks: Vec<InstalledWebhook> = match store.webhook(event)? {
        Some(hook) => vec![hook],
        None => store.webhooks()?,
    };
    if hooks.is_empty() {
        return Err(ConnectorError::Unauthorized(format!(
            "connection {connection} has no Lever webhooks installed; this delivery cannot be verified"
        )));
    }
    let sealer = config::sealer(env.config)?;
    hooks
        .into_iter()
        .map(|hook| {
            let token = sealer.open(
                connection.as_str(),
                &format!("signature_token/{}", hook.event),
                &hook.signature_token,
            )?;
            Ok((hook.event, token))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(id: &str, event: &str, url: &str) -> Webhook {
        Webhook {
            id: id.into(),
            event: event.into(),
            url: url.into(),
            configuration: Default::default(),
        }
    }

    fn stored(id: &str, event: &str) -> InstalledWebhook {
        InstalledWebhook {
            id: id.into(),
            event: event.into(),
            url: "old".into(),
            signature_token: "sealed".into(),
            created_at: 0,
        }
    }

    const URL: &str = "https://c.test/webhooks/lever/acme";

    #[test]
    fn a_fresh_account_gets_every_webhook_created() {
        let plan = plan(&[], &[], URL);
        assert_eq!(plan.steps.len(), WEBHOOK_EVENTS.len());
        assert!(plan.steps.iter().all(|(_, s)| *s == Step::Create));
    }

    #[test]
    fn ours_are_kept_repaired_or_recreated_and_ui_duplicates_warned() {
        let plan = plan(
            &[
                stored("w1", "candidateStageChange"),
                stored("w2", "candidateHired"),
                stored("gone", "candidateDeleted"),
            ],
            &[
                listed("w1", "candidateStageChange", URL),
                listed("w2", "candidateHired", "https://old.test/hook"),
                listed("ui", "candidateStageChange", URL),
                listed("other", "candidateStageChange", "https://elsewhere.test"),
            ],
            URL,
        );
        let step = |event: &str| {
            plan.steps
                .iter()
                .find(|(e, _)| *e == event)
                .unwrap()
                .1
                .clone()
        };
        assert_eq!(step("candidateStageChange"), Step::Keep("w1".into()));
        assert_eq!(step("candidateHired"), Step::Repair("w2".into()));
        assert_eq!(step("candidateDeleted"), Step::Create);
        assert_eq!(plan.warnings.len(), 1);
        assert!(plan.warnings[0].contains("ui"));
    }
}
