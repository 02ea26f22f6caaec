//! A connection's status: everything an admin needs to see to finish setting it up. It
//! never fails on missing setup; it lists what is missing.

use serde::Serialize;

use super::conn_store;
use crate::auth::{self, MissingScope};
use crate::error::ConnectorError;
use crate::io::{Env, UnixMillis};
use crate::lever::{default_upload_stage, Stage};
use crate::setup::{self, RoleLink};
use crate::store::{ConnectionId, StoredAuth, WEBHOOK_EVENTS};

/// How the connection authenticates to Lever.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthKind {
    /// Not connected.
    None,
    /// A Lever API key.
    ApiKey,
    /// OAuth tokens.
    Oauth,
}

/// One mapped Lever stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MappedStage {
    /// The Lever stage.
    pub lever_stage_id: String,
    /// Its name in Lever, when Lever was reachable and has it.
    pub text: Option<String>,
    /// The partner stage.
    pub partner_stage: String,
}

/// The stage uploads go to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadStage {
    /// The stage id.
    pub stage_id: String,
    /// Its name, when known.
    pub text: Option<String>,
    /// `configured` (chosen) or `default` (the first interviewing stage rule).
    pub source: &'static str,
}

/// Where one of our webhooks stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WebhookState {
    /// Not installed.
    Missing,
    /// Installed; no verified delivery yet (a Super Admin must switch the event on).
    AwaitingEnablement,
    /// Verified deliveries arrive.
    Receiving,
}

/// One webhook in the status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookStatus {
    /// The event.
    pub event: String,
    /// Lever's id, when installed.
    pub id: Option<String>,
    /// Where it delivers, when installed.
    pub url: Option<String>,
    /// Its state.
    pub state: WebhookState,
    /// The last verified delivery (to the minute: it is recorded again once a minute has
    /// passed).
    pub last_delivery_at: Option<UnixMillis>,
}

/// Everything about one connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionStatus {
    /// The connection.
    pub connection: ConnectionId,
    /// How it authenticates.
    pub auth: AuthKind,
    /// The Lever environment it uses: `production` or `sandbox`.
    pub environment: &'static str,
    /// Lever refused the refresh token: connect again.
    pub reconnect_needed: bool,
    /// When the OAuth access token expires (it is refreshed before).
    pub token_expires_at: Option<UnixMillis>,
    /// Lever's account id (OAuth).
    pub account_id: Option<String>,
    /// Scopes the connector needs that were not granted.
    pub missing_scopes: Vec<MissingScope>,
    /// The Lever user writes are attributed to.
    pub perform_as: Option<String>,
    /// Partner roles linked to Lever postings.
    pub roles: Vec<RoleLink>,
    /// Mapped Lever stages.
    pub mapped_stages: Vec<MappedStage>,
    /// Lever stages without a partner stage (when Lever was reachable).
    pub unmapped_stages: Vec<Stage>,
    /// Where uploads go.
    pub upload_stage: Option<UploadStage>,
    /// Our webhooks.
    pub webhooks: Vec<WebhookStatus>,
    /// Setup steps still to do.
    pub missing: Vec<String>,
    /// Problems met while reading the status (Lever unreachable, say).
    pub problems: Vec<String>,
}

/// The connection's status.
pub fn status(env: &Env, connection: &ConnectionId) -> Result<ConnectionStatus, ConnectorError> {
    Ok(status_and_stages(env, connection)?.0)
}

/// Lever's stages as a status read them: `None` when it did not try (not connected, or
/// reconnect needed).
pub type StagesRead = Option<Result<Vec<Stage>, ConnectorError>>;

/// The connection's status, and Lever's stages as it read them, so a caller that shows
/// them reads them once.
pub fn status_and_stages(
    env: &Env,
    connection: &ConnectionId,
) -> Result<(ConnectionStatus, StagesRead), ConnectorError> {
    let store = conn_store(env, connection);
    let mut missing = Vec::new();
    let mut problems = Vec::new();
    let auth = store.auth()?.map(|v| v.value);
    let (kind, reconnect_needed, token_expires_at, account_id, missing_scopes) = match &auth {
        None => {
            missing.push("connect Lever (API key or OAuth)".to_string());
            (AuthKind::None, false, None, None, Vec::new())
        }
        Some(StoredAuth::ApiKey { .. }) => (AuthKind::ApiKey, false, None, None, Vec::new()),
        Some(StoredAuth::Oauth {
            expires_at,
            account_id,
            scopes,
            reconnect_needed,
            ..
        }) => {
            if *reconnect_needed {
                missing.push("reconnect Lever (the refresh token was refused)".into());
            }
            (
                AuthKind::Oauth,
                *reconnect_needed,
                Some(*expires_at),
                account_id.clone(),
                auth::missing_scopes(scopes),
            )
        }
    };
    let perform_as = store.perform_as()?;
    if perform_as.is_none() {
        missing.push("choose perform_as (the Lever user writes are attributed to)".into());
    }
    let roles = setup::list_roles(env, connection)?;
    if roles.is_empty() {
        missing.push("link at least one partner role to a Lever posting".into());
    }
    let map = store.stage_map()?.unwrap_or_default();
    if map.is_empty() {
        missing.push("map Lever stages to partner stages".into());
    }

    let read = (auth.is_some() && !reconnect_needed).then(|| setup::list_stages(env, connection));
    let stages = match &read {
        Some(Ok(stages)) => Some(stages.clone()),
        Some(Err(e)) => {
            problems.push(format!("reading Lever's stages: {e}"));
            None
        }
        None => None,
    };
    let text_of = |id: &str| {
        stages
            .as_ref()
            .and_then(|all| all.iter().find(|s| s.id.as_str() == id))
            .map(|s| s.text.clone())
    };
    let mapped_stages = map
        .iter()
        .map(|(id, partner)| MappedStage {
            lever_stage_id: id.clone(),
            text: text_of(id),
            partner_stage: partner.clone(),
        })
        .collect();
    if let Some(all) = &stages {
        let names = store.stage_names()?;
        for id in map.keys() {
            match (all.iter().find(|s| s.id.as_str() == id), names.get(id)) {
                (None, Some(was)) => problems.push(format!(
                    "mapped Lever stage {id} (\"{was}\") no longer exists in Lever: fix the stage map"
                )),
                (None, None) => problems.push(format!(
                    "mapped Lever stage {id} does not exist in Lever: fix the stage map"
                )),
                (Some(now), Some(was)) if &now.text != was => problems.push(format!(
                    "mapped Lever stage {id} was renamed from \"{was}\" to \"{}\": check the stage map",
                    now.text
                )),
                _ => {}
            }
        }
    }
    let unmapped_stages = stages
        .as_ref()
        .map(|all| {
            all.iter()
                .filter(|s| !map.contains_key(s.id.as_str()))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let upload_stage = match store.upload_stage()? {
        Some(id) => Some(UploadStage {
            text: text_of(id.as_str()),
            stage_id: id.0,
            source: "configured",
        }),
        None => stages
            .as_deref()
            .and_then(default_upload_stage)
            .map(|s| UploadStage {
                stage_id: s.id.0.clone(),
                text: Some(s.text.clone()),
                source: "default",
            }),
    };
    if upload_stage.is_none() && stages.is_some() {
        missing.push("choose the upload stage (Lever has no screen or interview stage)".into());
    }

    let mut webhooks = Vec::new();
    for event in WEBHOOK_EVENTS {
        let hook = store.webhook(event)?;
        let seen = store.webhook_seen(event)?;
        let state = match (&hook, seen) {
            (None, _) => WebhookState::Missing,
            (Some(_), None) => WebhookState::AwaitingEnablement,
            (Some(_), Some(_)) => WebhookState::Receiving,
        };
        webhooks.push(WebhookStatus {
            event: event.into(),
            id: hook.as_ref().map(|h| h.id.clone()),
            url: hook.map(|h| h.url),
            state,
            last_delivery_at: seen,
        });
    }
    if webhooks.iter().any(|w| w.state == WebhookState::Missing) {
        missing.push("install the webhooks".into());
    }
    // The environment its credentials belong to, else the one chosen for it.
    let tier = match &auth {
        Some(auth) => auth::stored_tier(auth),
        None => store.environment()?,
    };
    let environment = crate::config::lever_environment_for(env.config, tier)?
        .tier
        .as_str();
    let status = ConnectionStatus {
        connection: connection.clone(),
        auth: kind,
        environment,
        reconnect_needed,
        token_expires_at,
        account_id,
        missing_scopes,
        perform_as,
        roles,
        mapped_stages,
        unmapped_stages,
        upload_stage,
        webhooks,
        missing,
        problems,
    };
    Ok((status, read))
}
