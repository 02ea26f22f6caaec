//! A partner's note on a submitted candidate lands once on its Lever opportunity, as the
//! connection's `perform_as` user.
//!
//! Lever has no idempotency key, so the partner names each note (`noteId`) and the
//! connector remembers the notes it added per opportunity ([`crate::store::PartnerNotes`]).
//! A request claims the note before calling Lever; a copy arriving meanwhile is told to
//! retry (409), a retry after an attempt that ended without knowing whether Lever added it
//! first looks for it among the opportunity's notes.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::auth;
use crate::config;
use crate::error::ConnectorError;
use crate::io::{Env, Method, UnixMillis};
use crate::lever::{self, OpportunityId};
use crate::setup::{self, require_id};
use crate::store::{ConnectionId, NoteClaim, Store};

/// How far before an unfinished attempt began a note Lever shows may have been created.
const FIND_SKEW_MS: u64 = 60 * 1000;
/// The longest note accepted, in characters.
pub const MAX_NOTE_CHARS: usize = 10_000;

/// What adding a note did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AddedNote {
    /// The connection.
    pub connection_id: ConnectionId,
    /// The partner's candidate.
    pub partner_candidate_id: String,
    /// The partner's note.
    pub note_id: String,
    /// The Lever opportunity it is on.
    pub opportunity_id: OpportunityId,
    /// Lever's note.
    pub lever_note_id: String,
    /// Whether this request added it (`false`: it was there already).
    pub created: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LeverNote {
    id: String,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    created_at: UnixMillis,
    #[serde(default)]
    fields: Vec<NoteField>,
}

#[derive(Deserialize)]
struct NoteField {
    #[serde(default)]
    value: serde_json::Value,
}

/// Adds partner note `note_id` with `text` to the Lever opportunity of partner candidate
/// `pcid`, once.
pub fn add_note(
    env: &Env,
    c: &ConnectionId,
    pcid: &str,
    note_id: &str,
    text: &str,
) -> Result<AddedNote, ConnectorError> {
    require_id("partnerCandidateId", pcid)?;
    require_id("noteId", note_id)?;
    if text.trim().is_empty() || text.chars().count() > MAX_NOTE_CHARS {
        return Err(ConnectorError::InvalidInput(format!(
            "text must be 1 to {MAX_NOTE_CHARS} characters"
        )));
    }
    let store = Store::new(env.kv).connection(c);
    let opportunity = store.linked_opportunity(pcid)?.ok_or_else(|| {
        ConnectorError::NotFound(format!("partner candidate {pcid} is not linked"))
    })?;
    let user = setup::require_perform_as(env, c)?;
    let api = auth::lever_api(env, c)?;
    let answer = |lever_note_id: String, created: bool| AddedNote {
        connection_id: c.clone(),
        partner_candidate_id: pcid.to_string(),
        note_id: note_id.to_string(),
        opportunity_id: opportunity.clone(),
        lever_note_id,
        created,
    };
    let now = env.clock.now();
    let until = now.saturating_add(config::delivery_lease_ms(env.config)?);
    let earlier = match store.claim_note(&opportunity, note_id, now, until)? {
        NoteClaim::Added(lever_note_id) => return Ok(answer(lever_note_id, false)),
        NoteClaim::Busy => {
            return Err(ConnectorError::Conflict(format!(
                "note {note_id} is being added right now; retry in a minute"
            )))
        }
        NoteClaim::Claimed { earlier } => earlier,
    };
    if let Some(began) = earlier {
        // An attempt ended without knowing: Lever may have the note already.
        let notes: Vec<LeverNote> = lever::list_all(
            env,
            &api,
            &["opportunities", opportunity.as_str(), "notes"],
            &[],
        )?;
        let found = notes.into_iter().find(|n| {
            n.user.as_deref() == Some(user.as_str())
                && n.created_at.saturating_add(FIND_SKEW_MS) >= began
                && n.fields.iter().any(|f| f.value.as_str() == Some(text))
        });
        if let Some(found) = found {
            store.note_added(&opportunity, note_id, &found.id)?;
            return Ok(answer(found.id, false));
        }
    }
    let body = serde_json::to_vec(&json!({ "value": text }))
        .map_err(|e| ConnectorError::Internal(e.to_string()))?;
    let request = api.request(
        Method::Post,
        &["opportunities", opportunity.as_str(), "notes"],
        &[("perform_as", user.as_str())],
        Some(body),
    );
    let created: LeverNote = lever::interpret(lever::send(env, request)?)?;
    store.note_added(&opportunity, note_id, &created.id)?;
    Ok(answer(created.id, true))
}
