//! Setting a connection up: what Lever has (stages, users, postings), the connection's
//! settings (stage map, `perform_as`, upload stage, role ↔ posting links), its status, and
//! disconnecting it.

pub mod status;
pub mod webhooks;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::auth;
use crate::error::ConnectorError;
use crate::io::{Env, Method, UnixMillis};
use crate::lever::{self, ArchiveReason, PostingSummary, Stage, StageId, User, UserId};
use crate::store::{ConnStore, ConnectionId, Store};

pub(crate) fn conn_store<'a>(env: &Env<'a>, connection: &ConnectionId) -> ConnStore<'a> {
    Store::new(env.kv).connection(connection)
}

/// Checks an id that comes from outside: 1 to 256 printable characters.
pub fn require_id(name: &str, value: &str) -> Result<(), ConnectorError> {
    if value.trim().is_empty() || value.len() > 256 || value.chars().any(char::is_control) {
        return Err(ConnectorError::InvalidInput(format!(
            "{name} must be 1 to 256 printable characters"
        )));
    }
    Ok(())
}

/// Lever's stages in pipeline order.
pub fn list_stages(env: &Env, connection: &ConnectionId) -> Result<Vec<Stage>, ConnectorError> {
    let api = auth::lever_api(env, connection)?;
    read_stages(env, connection, &api)
}

/// How long uploads and partner moves reuse Lever's stages as last read: each of them would
/// otherwise spend one of the connection's Lever requests (10/s) reading a list that rarely
/// changes. Setup and status always read it fresh (and refresh it).
pub const STAGES_REUSED_MS: UnixMillis = 5 * 60 * 1000;

/// Lever's stages, read now, and remembered for [`stages`].
fn read_stages(
    env: &Env,
    connection: &ConnectionId,
    api: &lever::LeverApi,
) -> Result<Vec<Stage>, ConnectorError> {
    let stages: Vec<Stage> = lever::list_all(env, api, &["stages"], &[])?;
    // A cache: failing to write it costs the next caller a read, nothing else.
    let _ = conn_store(env, connection).set_cached_stages(env.clock.now(), &stages);
    Ok(stages)
}

/// Lever's stages as read within [`STAGES_REUSED_MS`], else read now.
pub fn stages(
    env: &Env,
    connection: &ConnectionId,
    api: &lever::LeverApi,
) -> Result<Vec<Stage>, ConnectorError> {
    let now = env.clock.now();
    match conn_store(env, connection).cached_stages() {
        Ok(Some((at, stages))) if at <= now && now - at < STAGES_REUSED_MS => Ok(stages),
        _ => read_stages(env, connection, api),
    }
}

/// Lever's active users (deactivated ones hidden).
pub fn list_users(env: &Env, connection: &ConnectionId) -> Result<Vec<User>, ConnectorError> {
    let api = auth::lever_api(env, connection)?;
    let users: Vec<User> = lever::list_all(env, &api, &["users"], &[])?;
    Ok(users
        .into_iter()
        .filter(|u| u.deactivated_at.is_none())
        .collect())
}

/// Lever's postings, every page, optionally in one `state`.
pub fn list_postings(
    env: &Env,
    connection: &ConnectionId,
    state: Option<&str>,
) -> Result<Vec<PostingSummary>, ConnectorError> {
    const STATES: [&str; 6] = [
        "published",
        "internal",
        "closed",
        "draft",
        "pending",
        "rejected",
    ];
    if let Some(state) = state {
        if !STATES.contains(&state) {
            return Err(ConnectorError::InvalidInput(format!(
                "state must be one of {}",
                STATES.join(", ")
            )));
        }
    }
    let api = auth::lever_api(env, connection)?;
    let query: Vec<(&str, &str)> = state.map(|s| ("state", s)).into_iter().collect();
    lever::list_all(env, &api, &["postings"], &query)
}

/// Replaces the stage map (Lever stage id → partner stage). Ids must be non-empty and each
/// Lever stage mapped once.
pub fn set_stage_map(
    env: &Env,
    connection: &ConnectionId,
    mappings: &[(String, String)],
) -> Result<BTreeMap<String, String>, ConnectorError> {
    let mut map = BTreeMap::new();
    for (lever, partner) in mappings {
        require_id("lever stage id", lever)?;
        require_id("partner stage", partner)?;
        if map.insert(lever.clone(), partner.clone()).is_some() {
            return Err(ConnectorError::InvalidInput(format!(
                "Lever stage {lever} is mapped twice"
            )));
        }
    }
    let store = conn_store(env, connection);
    store.set_stage_map(&map)?;
    // Remember the mapped stages' names, so status can tell when one is renamed or removed
    // in Lever before a write fails on it.
    if store.auth()?.is_some() {
        if let Ok(stages) = list_stages(env, connection) {
            let names = stages
                .into_iter()
                .filter(|s| map.contains_key(s.id.as_str()))
                .map(|s| (s.id.0, s.text))
                .collect();
            store.set_stage_names(&names)?;
        }
    }
    Ok(map)
}

/// Sets the tags every upload gets.
pub fn set_upload_tags(
    env: &Env,
    connection: &ConnectionId,
    tags: &[String],
) -> Result<(), ConnectorError> {
    for tag in tags {
        require_id("tag", tag)?;
    }
    conn_store(env, connection).set_upload_tags(tags)
}

/// Lever's archive reasons.
pub fn list_archive_reasons(
    env: &Env,
    connection: &ConnectionId,
) -> Result<Vec<ArchiveReason>, ConnectorError> {
    let api = auth::lever_api(env, connection)?;
    lever::list_all(env, &api, &["archive_reasons"], &[])
}

/// Chooses the archive reason partner rejections use: an active, non-hired Lever reason.
pub fn set_rejection_reason(
    env: &Env,
    connection: &ConnectionId,
    reason: &str,
) -> Result<ArchiveReason, ConnectorError> {
    require_id("archiveReasonId", reason)?;
    let found = list_archive_reasons(env, connection)?
        .into_iter()
        .find(|r| r.id == reason)
        .ok_or_else(|| ConnectorError::NotFound(format!("Lever has no archive reason {reason}")))?;
    if found.kind == "hired" || found.status == "inactive" {
        return Err(ConnectorError::InvalidInput(format!(
            "archive reason {reason} ({}) is {}; a rejection needs an active non-hired reason",
            found.text,
            if found.kind == "hired" {
                "a hired reason"
            } else {
                "inactive"
            }
        )));
    }
    conn_store(env, connection).set_rejection_reason(reason)?;
    Ok(found)
}

/// The stage map; empty when none is set.
pub fn stage_map(
    env: &Env,
    connection: &ConnectionId,
) -> Result<BTreeMap<String, String>, ConnectorError> {
    Ok(conn_store(env, connection).stage_map()?.unwrap_or_default())
}

/// Chooses the Lever user writes are attributed to; it must be an active Lever user.
pub fn set_perform_as(
    env: &Env,
    connection: &ConnectionId,
    user: &str,
) -> Result<User, ConnectorError> {
    require_id("perform_as user id", user)?;
    let api = auth::lever_api(env, connection)?;
    let found: User = match lever::interpret(lever::send(
        env,
        api.request(Method::Get, &["users", user], &[], None),
    )?) {
        Ok(found) => found,
        Err(ConnectorError::NotFound(_)) => {
            return Err(ConnectorError::NotFound(format!(
                "Lever has no user {user}"
            )))
        }
        Err(e) => return Err(e),
    };
    if found.deactivated_at.is_some() {
        return Err(ConnectorError::InvalidInput(format!(
            "Lever user {user} is deactivated; choose an active user"
        )));
    }
    conn_store(env, connection).set_perform_as(user)?;
    Ok(found)
}

/// The `perform_as` user writes need: `not-configured` naming `perform_as` when none was
/// chosen.
pub fn require_perform_as(env: &Env, connection: &ConnectionId) -> Result<UserId, ConnectorError> {
    conn_store(env, connection)
        .perform_as()?
        .map(UserId)
        .ok_or_else(|| {
            ConnectorError::NotConfigured(format!(
                "perform_as (choose the Lever user connection {connection} writes as)"
            ))
        })
}

/// Sets the upload stage (`None`: back to the default rule); the stage must exist in Lever.
pub fn set_upload_stage(
    env: &Env,
    connection: &ConnectionId,
    stage: Option<&str>,
) -> Result<Option<Stage>, ConnectorError> {
    let store = conn_store(env, connection);
    let Some(stage) = stage else {
        store.set_upload_stage(None)?;
        return Ok(None);
    };
    require_id("upload stage id", stage)?;
    let stages = list_stages(env, connection)?;
    let found = stages
        .into_iter()
        .find(|s| s.id.as_str() == stage)
        .ok_or_else(|| ConnectorError::NotFound(format!("Lever has no stage {stage}")))?;
    store.set_upload_stage(Some(&StageId(stage.into())))?;
    Ok(Some(found))
}

/// One partner role linked to a Lever posting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleLink {
    /// The partner's role id.
    pub role: String,
    /// The Lever posting.
    pub posting_id: String,
}

/// Links a partner role to a Lever posting, which must exist (`not-found` otherwise).
pub fn link_role(
    env: &Env,
    connection: &ConnectionId,
    role: &str,
    posting: &str,
) -> Result<PostingSummary, ConnectorError> {
    require_id("role id", role)?;
    require_id("postingId", posting)?;
    let api = auth::lever_api(env, connection)?;
    let found: PostingSummary = match lever::interpret(lever::send(
        env,
        api.request(Method::Get, &["postings", posting], &[], None),
    )?) {
        Ok(found) => found,
        Err(ConnectorError::NotFound(_)) => {
            return Err(ConnectorError::NotFound(format!(
                "Lever has no posting {posting}"
            )))
        }
        Err(e) => return Err(e),
    };
    conn_store(env, connection).set_role(role, Some(posting))?;
    Ok(found)
}

/// Unlinks a role; `not-found` when it was not linked.
pub fn unlink_role(env: &Env, connection: &ConnectionId, role: &str) -> Result<(), ConnectorError> {
    require_id("role id", role)?;
    if conn_store(env, connection).set_role(role, None)? {
        Ok(())
    } else {
        Err(ConnectorError::NotFound(format!(
            "role {role} is not linked"
        )))
    }
}

/// Every role link.
pub fn list_roles(env: &Env, connection: &ConnectionId) -> Result<Vec<RoleLink>, ConnectorError> {
    Ok(conn_store(env, connection)
        .roles()?
        .into_iter()
        .map(|(role, posting_id)| RoleLink { role, posting_id })
        .collect())
}

/// Every connection that has credentials, in id order (the registry: a fixed number of
/// reads, whatever the store holds).
pub fn list_connections(env: &Env) -> Result<Vec<ConnectionId>, ConnectorError> {
    crate::store::upgrade::ensure_layout(env)?;
    Store::new(env.kv).connections()
}

/// What a disconnect did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Disconnected {
    /// The connection.
    pub connection: ConnectionId,
    /// Our webhooks deleted in Lever.
    pub removed_webhooks: Vec<String>,
    /// Webhooks that could not be deleted in Lever (id and why); delete them in Lever's
    /// settings. Their deliveries are refused either way.
    pub failed_webhooks: Vec<(String, String)>,
    /// Whether links, maps and settings were deleted too.
    pub purged: bool,
}

/// Disconnects: deletes our webhooks in Lever, drops tokens and signature tokens, and with
/// `purge` the links, maps and settings. Afterwards the connection's deliveries are refused
/// and its calls answer `not-configured`; connecting again works.
pub fn disconnect(
    env: &Env,
    connection: &ConnectionId,
    purge: bool,
) -> Result<Disconnected, ConnectorError> {
    crate::store::upgrade::ensure_layout(env)?;
    let store = conn_store(env, connection);
    let installed = store.webhooks()?;
    let mut removed = Vec::new();
    let mut failed = Vec::new();
    if !installed.is_empty() {
        match auth::lever_api(env, connection) {
            Ok(api) => {
                for hook in &installed {
                    let request = api.request(Method::Delete, &["webhooks", &hook.id], &[], None);
                    match lever::send(env, request).and_then(lever::interpret_empty) {
                        Ok(()) | Err(ConnectorError::NotFound(_)) => removed.push(hook.id.clone()),
                        Err(e) => failed.push((hook.id.clone(), e.to_string())),
                    }
                }
            }
            Err(e) => failed.extend(installed.iter().map(|h| (h.id.clone(), e.to_string()))),
        }
    }
    store.clear(purge)?;
    Ok(Disconnected {
        connection: connection.clone(),
        removed_webhooks: removed,
        failed_webhooks: failed,
        purged: purge,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::fake::{FakeConfig, World};

    #[test]
    fn writes_without_perform_as_name_the_setting() {
        let world = World::new(FakeConfig::default(), 0);
        let connection = ConnectionId::parse("acme").unwrap();
        let error = require_perform_as(&world.env(), &connection).unwrap_err();
        assert!(matches!(&error, ConnectorError::NotConfigured(m) if m.starts_with("perform_as")));
        conn_store(&world.env(), &connection)
            .set_perform_as("user-1")
            .unwrap();
        assert_eq!(
            require_perform_as(&world.env(), &connection)
                .unwrap()
                .as_str(),
            "user-1"
        );
    }

    #[test]
    fn a_stage_mapped_twice_is_refused() {
        let world = World::new(FakeConfig::default(), 0);
        let connection = ConnectionId::parse("acme").unwrap();
        assert!(set_stage_map(
            &world.env(),
            &connection,
            &[("a".into(), "x".into()), ("a".into(), "y".into())]
        )
        .is_err());
        set_stage_map(&world.env(), &connection, &[("a".into(), "x".into())]).unwrap();
        assert_eq!(stage_map(&world.env(), &connection).unwrap()["a"], "x");
    }
}
