//! Triggers for integration platforms, per connection: Candidate Created and Candidate
//! Updated from verified Lever webhooks, Posting Created and Posting Updated from polling
//! Lever's postings on `updatedAt` (Lever sends no posting webhooks). Each event carries the
//! object fetched fresh from Lever, is delivered once to the partner callback as a signed
//! event, and is kept in a per-trigger log that `poll` reads with a cursor.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::actions::field;
use crate::auth;
use crate::config;
use crate::error::ConnectorError;
use crate::io::{Env, Method, UnixMillis};
use crate::lever::{self, LeverApi};
use crate::partner::{self, PartnerEvent};
use crate::store::{ConnectionId, Store};
use crate::sync::stage::notify;

/// The four triggers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A new opportunity.
    CandidateCreated,
    /// An opportunity changed (stage, archive state, contact details).
    CandidateUpdated,
    /// A new posting.
    PostingCreated,
    /// A posting changed.
    PostingUpdated,
}

impl Kind {
    /// The name in keys and routes.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::CandidateCreated => "candidate-created",
            Kind::CandidateUpdated => "candidate-updated",
            Kind::PostingCreated => "posting-created",
            Kind::PostingUpdated => "posting-updated",
        }
    }

    /// Parses a route segment.
    pub fn parse(raw: &str) -> Option<Self> {
        [
            Kind::CandidateCreated,
            Kind::CandidateUpdated,
            Kind::PostingCreated,
            Kind::PostingUpdated,
        ]
        .into_iter()
        .find(|k| k.as_str() == raw)
    }

    /// The partner event type.
    pub fn event_type(self) -> &'static str {
        match self {
            Kind::CandidateCreated => "candidate.created",
            Kind::CandidateUpdated => "candidate.updated",
            Kind::PostingCreated => "posting.created",
            Kind::PostingUpdated => "posting.updated",
        }
    }
}

/// One trigger event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TriggerEvent {
    /// Stable id (the platform's dedupe key; also the partner event's `webhook-id`).
    pub id: String,
    /// Which trigger.
    pub kind: Kind,
    /// When the change happened in Lever.
    pub occurred_at: UnixMillis,
    /// The opportunity (candidate triggers) or posting, as Lever shows it now.
    pub object: Value,
}

/// `data` of the partner event.
#[derive(Debug, Serialize)]
struct Data<'a> {
    opportunity: Option<&'a Value>,
    posting: Option<&'a Value>,
}

/// The events since a cursor.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Batch {
    /// Oldest first.
    pub events: Vec<TriggerEvent>,
    /// Pass it to the next poll.
    pub cursor: String,
}

/// At most this many events per poll.
pub const MAX_BATCH: u64 = 100;
/// Events kept per trigger.
const KEEP: u64 = crate::store::keys::TRIGGER_KEEP;

/// Enables exactly `kinds` for the connection (triggers are opt-in: a marketplace that only
/// syncs candidates gets none of these events).
pub fn set_enabled(env: &Env, c: &ConnectionId, kinds: &[Kind]) -> Result<(), ConnectorError> {
    let names: Vec<String> = kinds.iter().map(|k| k.as_str().to_string()).collect();
    Store::new(env.kv)
        .connection(c)
        .set_enabled_triggers(&names)
}

/// The enabled triggers.
pub fn enabled(env: &Env, c: &ConnectionId) -> Result<Vec<Kind>, ConnectorError> {
    Ok(Store::new(env.kv)
        .connection(c)
        .enabled_triggers()?
        .iter()
        .filter_map(|k| Kind::parse(k))
        .collect())
}

/// Records an event once (by id) and delivers it to the partner; `false` when it was
/// recorded before.
fn emit(env: &Env, c: &ConnectionId, event: TriggerEvent) -> Result<bool, ConnectorError> {
    let store = Store::new(env.kv).connection(c);
    if store.trigger_seen(&event.id)? {
        return Ok(false);
    }
    let partner_settings = config::partner(env.config)?;
    let candidate = matches!(event.kind, Kind::CandidateCreated | Kind::CandidateUpdated);
    let partner_event = PartnerEvent {
        id: event.id.clone(),
        kind: event.kind.event_type(),
        connection_id: c.to_string(),
        occurred_at: event.occurred_at,
        data: Data {
            opportunity: candidate.then_some(&event.object),
            posting: (!candidate).then_some(&event.object),
        },
    };
    notify(env, &partner_settings, &partner_event)?;
    store.append_trigger(event.kind.as_str(), &event, KEEP, env.random)?;
    let until = env
        .clock
        .now()
        .saturating_add(config::delivery_retention_ms(env.config)?);
    store.mark_trigger_seen(&event.id, until)?;
    Ok(true)
}

fn opportunity_event(kind: Kind, c: &ConnectionId, opportunity: Value) -> TriggerEvent {
    let id_part = field(&opportunity, "id")
        .as_str()
        .unwrap_or_default()
        .to_string();
    let at = match kind {
        Kind::CandidateCreated => field(&opportunity, "createdAt").as_u64().unwrap_or(0),
        _ => field(&opportunity, "updatedAt").as_u64().unwrap_or(0),
    };
    TriggerEvent {
        id: partner::event_id(kind.event_type(), &[c.as_str(), &id_part, &at.to_string()]),
        kind,
        occurred_at: at,
        object: opportunity,
    }
}

fn fetch(env: &Env, api: &LeverApi, segments: &[&str]) -> Result<Option<Value>, ConnectorError> {
    match lever::interpret::<Value>(lever::send(
        env,
        api.request(Method::Get, segments, &[], None),
    )?) {
        Ok(value) => Ok(Some(value)),
        Err(ConnectorError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The candidate triggers of a verified delivery: Candidate Created for `applicationCreated`
/// and `contactCreated`, Candidate Updated for `candidateStageChange`,
/// `candidateArchiveChange` and `contactUpdated`. Answers how many events were emitted.
pub fn on_delivery(
    env: &Env,
    c: &ConnectionId,
    event: &str,
    data: &Value,
) -> Result<u32, ConnectorError> {
    let kind = match event {
        "applicationCreated" | "contactCreated" => Kind::CandidateCreated,
        "candidateStageChange" | "candidateArchiveChange" | "contactUpdated" => {
            Kind::CandidateUpdated
        }
        _ => return Ok(0),
    };
    if !enabled(env, c)?.contains(&kind) {
        return Ok(0);
    }
    let api = auth::lever_api(env, c)?;
    let opportunities: Vec<Value> = match field(data, "opportunityId").as_str() {
        Some(id) => fetch(env, &api, &["opportunities", id])?
            .into_iter()
            .collect(),
        None => match field(data, "contactId").as_str() {
            // Contact events name no opportunity: every opportunity of the contact.
            Some(contact) => {
                lever::list_all(env, &api, &["opportunities"], &[("contact_id", contact)])?
            }
            None => Vec::new(),
        },
    };
    let mut emitted = 0;
    for opportunity in opportunities {
        if emit(env, c, opportunity_event(kind, c, opportunity))? {
            emitted += 1;
        }
    }
    Ok(emitted)
}

/// What a postings poll found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PostingPoll {
    /// Postings created since the last poll.
    pub created: u32,
    /// Postings changed since the last poll.
    pub updated: u32,
    /// The cursor now (Unix ms).
    pub cursor: UnixMillis,
}

/// Polls Lever's postings changed since the connection's cursor (inclusive, with each
/// posting's last delivered `updatedAt` remembered, so nothing in the same millisecond is
/// lost or repeated). The first poll starts watching from now.
pub fn poll_postings(env: &Env, c: &ConnectionId) -> Result<PostingPoll, ConnectorError> {
    let kinds = enabled(env, c)?;
    if !kinds
        .iter()
        .any(|k| matches!(k, Kind::PostingCreated | Kind::PostingUpdated))
    {
        return Err(ConnectorError::NotConfigured(format!(
            "triggers (connection {c} has neither posting-created nor posting-updated enabled)"
        )));
    }
    let api = auth::lever_api(env, c)?.background();
    let store = Store::new(env.kv).connection(c);
    let Some(cursor) = store.posting_cursor()? else {
        let now = env.clock.now();
        store.set_posting_cursor(now)?;
        return Ok(PostingPoll {
            created: 0,
            updated: 0,
            cursor: now,
        });
    };
    let since = cursor.to_string();
    let postings: Vec<Value> = lever::list_all(
        env,
        &api,
        &["postings"],
        &[("updated_at_start", since.as_str())],
    )?;
    let mut report = PostingPoll {
        created: 0,
        updated: 0,
        cursor,
    };
    for posting in postings {
        let id = field(&posting, "id")
            .as_str()
            .unwrap_or_default()
            .to_string();
        let updated_at = field(&posting, "updatedAt").as_u64().unwrap_or(0);
        let created_at = field(&posting, "createdAt").as_u64().unwrap_or(0);
        report.cursor = report.cursor.max(updated_at);
        let seen = store.posting_seen(&id)?;
        if seen.is_some_and(|s| s >= updated_at) {
            continue;
        }
        let kind = if seen.is_none() && created_at >= cursor {
            Kind::PostingCreated
        } else {
            Kind::PostingUpdated
        };
        let event = TriggerEvent {
            id: partner::event_id(
                kind.event_type(),
                &[c.as_str(), &id, &updated_at.to_string()],
            ),
            kind,
            occurred_at: updated_at,
            object: posting,
        };
        if kinds.contains(&kind) && emit(env, c, event)? {
            match kind {
                Kind::PostingCreated => report.created += 1,
                _ => report.updated += 1,
            }
        }
        store.set_posting_seen(&id, updated_at, seen.is_none())?;
    }
    store.set_posting_cursor(report.cursor)?;
    Ok(report)
}

/// The events of one trigger after `cursor` (from now on when `None`). Posting triggers
/// poll Lever first.
pub fn poll(
    env: &Env,
    c: &ConnectionId,
    kind: Kind,
    cursor: Option<&str>,
) -> Result<Batch, ConnectorError> {
    if !enabled(env, c)?.contains(&kind) {
        return Err(ConnectorError::NotConfigured(format!(
            "triggers ({} is not enabled on connection {c})",
            kind.as_str()
        )));
    }
    if matches!(kind, Kind::PostingCreated | Kind::PostingUpdated) {
        poll_postings(env, c)?;
    }
    let store = Store::new(env.kv).connection(c);
    let head = store.trigger_head(kind.as_str())?;
    let Some(cursor) = cursor else {
        return Ok(Batch {
            events: Vec::new(),
            cursor: head.to_string(),
        });
    };
    let after: u64 = cursor.parse().map_err(|_| {
        ConnectorError::InvalidInput("cursor is not one this connector gave out".into())
    })?;
    let events = store.triggers(kind.as_str(), after, MAX_BATCH)?;
    let last = after + events.len() as u64;
    Ok(Batch {
        events,
        cursor: last.max(after).min(head).to_string(),
    })
}
