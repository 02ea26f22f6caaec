//! The records the store keeps: what each key holds.

use serde::{Deserialize, Serialize};

use super::*;

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Claimed; its work is under way (or its instance died: see the lease).
    Processing,
    /// The partner was notified.
    Forwarded,
    /// Accepted; its effect waits in the outbox for a retry.
    Queued,
    /// Its effect ran out of attempts and sits in the dead letters.
    DeadLettered,
    /// A verified event not acted on.
    Ignored,
    /// Nothing needed sending.
    Skipped,
}

/// What was done with one delivery, as stored under its token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryRecord {
    /// The event name.
    pub event: String,
    /// When it was claimed or handled.
    pub handled_at: UnixMillis,
    /// Where it stands.
    pub state: DeliveryState,
    /// The reason or the partner event id.
    pub detail: String,
    /// A random id of the claim, so two claims are never byte-equal (see
    /// [`crate::io::Kv::compare_and_swap`]).
    #[serde(default)]
    pub claim: String,
}

/// The answer to a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This caller owns the delivery now (new, or a stale claim taken over).
    Claimed,
    /// Handled, or being handled within its lease, by someone else.
    Duplicate(DeliveryRecord),
}

/// Which OAuth round trip a `state` nonce belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OAuthState {
    /// The connection being connected.
    pub connection: ConnectionId,
    /// When the nonce stops being accepted.
    pub expires_at: UnixMillis,
    /// Set once the callback used it.
    #[serde(default)]
    pub used: bool,
    /// A random id of the use (so two uses never write the same bytes).
    #[serde(default)]
    pub used_by: Option<String>,
    /// The connect-portal session that started it (the callback returns there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portal_session: Option<String>,
    /// The Lever environment (`production`, `sandbox`) the consent was asked in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
}

/// A short exclusive lease (the token refresh lock).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lease {
    /// A random id of the holder.
    pub holder: String,
    /// When the lease lapses if not released.
    pub expires_at: UnixMillis,
}

/// How a connection authenticates to Lever. Secret fields hold sealed values
/// ([`crate::crypto::Sealer`]), never plaintext.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum StoredAuth {
    /// A Lever API key.
    #[serde(rename_all = "camelCase")]
    ApiKey {
        /// The sealed key.
        api_key: String,
        /// When it was connected.
        connected_at: UnixMillis,
        /// The Lever environment (`production`, `sandbox`) the key belongs to; none (written
        /// before 0.3): the deployment's.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        environment: Option<String>,
    },
    /// OAuth tokens.
    #[serde(rename_all = "camelCase")]
    Oauth {
        /// The sealed access token.
        access_token: String,
        /// The sealed refresh token, when Lever issued one.
        refresh_token: Option<String>,
        /// When the access token expires.
        expires_at: UnixMillis,
        /// The scopes Lever granted.
        scopes: Vec<String>,
        /// Lever's account id, from the token.
        account_id: Option<String>,
        /// The Lever environment the tokens belong to.
        environment: String,
        /// Lever refused the refresh token: an admin must connect again.
        reconnect_needed: bool,
        /// When it was connected.
        connected_at: UnixMillis,
    },
}

/// Where an upload stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UploadState {
    /// An attempt is under way (until its lease lapses).
    Creating,
    /// An attempt ended without knowing whether Lever created the opportunity.
    Uncertain,
    /// The opportunity exists and is linked.
    Created,
}

/// One partner candidate's upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadIntent {
    /// Where it stands.
    pub state: UploadState,
    /// When the current attempt began.
    pub started_at: UnixMillis,
    /// When a `creating` attempt stops holding the intent.
    pub lease_until: UnixMillis,
    /// The opportunity, once known.
    pub opportunity_id: Option<String>,
    /// Its page in Lever.
    pub url: Option<String>,
    /// The posting.
    pub posting_id: String,
    /// The stage it was placed in.
    pub stage_id: String,
    /// Whether Lever attached it to an existing contact.
    pub deduped: bool,
    /// A note still to attach.
    pub note_pending: bool,
    /// A random id of the attempt (so two attempts never write the same bytes).
    #[serde(default)]
    pub attempt: String,
}

/// One of our Lever webhooks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstalledWebhook {
    /// Lever's webhook id.
    pub id: String,
    /// The event.
    pub event: String,
    /// Where it delivers.
    pub url: String,
    /// The sealed signature token.
    pub signature_token: String,
    /// When we created it.
    pub created_at: UnixMillis,
}

/// `conn/<c>/cache/stages`.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct CachedStages {
    pub(super) at: UnixMillis,
    pub(super) stages: Vec<Stage>,
}

/// What a connection's activity entry was about and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Activity {
    /// When.
    pub at: UnixMillis,
    /// `lever` (a webhook delivery) or `partner` (a partner call).
    pub source: String,
    /// The event or call, e.g. `candidateStageChange` or `candidate upload`.
    pub what: String,
    /// `forwarded`, `skipped`, `ignored`, `refused`, `failed` or `applied`.
    pub outcome: String,
    /// The reason, the partner event id, or what was written (never a secret).
    pub detail: String,
}

/// An accepted Lever delivery whose effect is still to be delivered (or, in the dead
/// letters, that ran out of attempts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxItem {
    /// The delivery token.
    pub token: String,
    /// The event name.
    pub event: String,
    /// The verified delivery as Lever sent it.
    pub body: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// When it was accepted.
    pub accepted_at: UnixMillis,
    /// When the next attempt is due.
    pub next_attempt_at: UnixMillis,
    /// Why the last attempt failed.
    pub last_error: String,
    /// Until when one instance holds it (0: no one).
    #[serde(default)]
    pub lease_until: UnixMillis,
    /// A random id of the holder, so two claims never write the same bytes.
    #[serde(default)]
    pub holder: String,
}

/// A partner role as the partner names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PartnerRole {
    /// The partner's role id (what `/roles/{role}` links).
    pub id: String,
    /// Its title on the partner platform.
    #[serde(default)]
    pub title: String,
}

/// A connect-portal link handed to the partner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortalLink {
    /// When it stops opening.
    pub expires_at: UnixMillis,
    /// The partner's roles, to link to postings.
    pub roles: Vec<PartnerRole>,
    /// The partner's stages, to map Lever stages to.
    pub partner_stages: Vec<String>,
    /// Set on first load.
    #[serde(default)]
    pub used: bool,
    /// A random id of the use (so two uses never write the same bytes).
    #[serde(default)]
    pub used_by: Option<String>,
}

/// A message shown once on the next portal page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Flash {
    /// Whether it reports a success.
    pub ok: bool,
    /// Plain words.
    pub text: String,
    /// The page section it belongs to (shown there).
    #[serde(default)]
    pub section: String,
}

/// A connect-portal session (its id is the cookie).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortalSession {
    /// When it ends.
    pub expires_at: UnixMillis,
    /// The partner's roles (from the link).
    pub roles: Vec<PartnerRole>,
    /// The partner's stages (from the link).
    pub partner_stages: Vec<String>,
    /// The token every form carries (CSRF).
    pub csrf: String,
    /// A message for the next page.
    #[serde(default)]
    pub flash: Option<Flash>,
}

/// One write for a `set-many`: a full key and its value.
pub type Write = (String, Vec<u8>);

/// The stage-change deliveries one opportunity's claim remembers (the newest).
pub const REPORTING_RECENT: usize = 32;

/// The partner notes one linked opportunity remembers (the newest).
pub const NOTES_RECENT: usize = 64;

/// `sync/notes/<opportunity>`: the partner's notes added to a linked opportunity, by the
/// partner's note id (their replay guard), the newest [`NOTES_RECENT`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerNotes {
    /// Oldest first.
    #[serde(default)]
    pub notes: Vec<PartnerNote>,
}

/// One partner note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartnerNote {
    /// The partner's id of the note.
    pub id: String,
    /// When an attempt to add it began.
    pub at: UnixMillis,
    /// Until when that attempt holds it (0 once it was added).
    pub until: UnixMillis,
    /// Lever's note, once added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lever_note_id: Option<String>,
}

/// Where a partner note stands when a request wants to add it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoteClaim {
    /// Added already: Lever's note.
    Added(String),
    /// Another request is adding it right now.
    Busy,
    /// This request adds it; `earlier` is when a previous attempt that did not finish began
    /// (Lever may have the note already).
    Claimed {
        /// The unfinished attempt's start.
        earlier: Option<UnixMillis>,
    },
}

/// `sync/reporting/<opportunity>`: who may report the opportunity to the partner now, and
/// the stage-change deliveries that were handled for it within the retention period. A
/// stage-change delivery claims its opportunity here, in one compare-and-swap that is both
/// the delivery's claim (a replay finds its token, a concurrent copy finds it holding the
/// claim) and the report's, and is remembered here when it is released: no key per
/// delivery, so nothing to index or sweep. The key is one per linked opportunity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reporting {
    /// Until when the holder may report (Unix ms; 0: nobody holds it).
    pub until: UnixMillis,
    /// The holder's nonce (two claims are never byte-equal).
    pub nonce: String,
    /// The stage-change delivery holding it, when a delivery does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Stage-change deliveries handled for this opportunity, oldest first.
    #[serde(default)]
    pub recent: Vec<Handled>,
}

/// A stage-change delivery remembered by its opportunity's claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handled {
    /// The delivery token.
    pub token: String,
    /// When it was handled.
    pub at: UnixMillis,
    /// Where it stands.
    pub state: DeliveryState,
}

impl Reporting {
    /// The value under the key: JSON, or `<until>:<nonce>` as written before 0.3.
    pub(super) fn read(raw: Option<&[u8]>) -> Self {
        let Some(raw) = raw else {
            return Self::default();
        };
        if let Ok(value) = serde_json::from_slice(raw) {
            return value;
        }
        let text = String::from_utf8_lossy(raw);
        let (until, nonce) = text.split_once(':').unwrap_or((&text, ""));
        Self {
            until: until.parse().unwrap_or(0),
            nonce: nonce.to_string(),
            ..Self::default()
        }
    }
}

/// The answer to [`ConnStore::claim_opportunity`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpportunityClaim {
    /// This delivery holds it now: the value written.
    Claimed(Reporting),
    /// The delivery was handled (or is being handled, within the lease): where it stands.
    Handled(DeliveryState),
    /// Another delivery, a reconciliation or a partner move is reporting it.
    HeldByOther,
}
