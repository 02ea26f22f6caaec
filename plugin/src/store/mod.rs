//! The connector's state in the key-value store: the one module that knows the key layout.
//! No other code builds a key, so no code can reach another connection's state by mistake.
//!
//! The key table is [`keys`]: every key, what it holds, what bounds how many exist, and how
//! it is found again without listing the bucket ([`index`]). Guards with a lifetime are
//! swept by `tick` once they expire; a store written by 0.2.0 is upgraded in place on first
//! use ([`upgrade`]).
//!
//! Values are stored under ids that come from outside (tokens, Lever ids); `/` inside one is
//! percent-encoded so it can never reach another key.

pub mod index;
pub mod keys;
pub mod upgrade;

use std::collections::BTreeMap;

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::ConnectorError;
use crate::io::{Kv, Random, Swapped, UnixMillis, Watched};
use crate::lever::{OpportunityId, Stage, StageId};

/// What an id embedded in a key may not hold unencoded.
const KEY_PART: &AsciiSet = &CONTROLS.add(b'/').add(b'%');

fn part(id: &str) -> String {
    utf8_percent_encode(id, KEY_PART).to_string()
}

/// A connection id: 1–64 characters of `[A-Za-z0-9_-]`, chosen by the partner.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ConnectionId(String);

impl ConnectionId {
    /// Parses a connection id.
    pub fn parse(raw: &str) -> Result<Self, ConnectorError> {
        let ok = (1..=64).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if ok {
            Ok(Self(raw.to_string()))
        } else {
            Err(ConnectorError::InvalidInput(
                "a connection id is 1 to 64 characters of A-Z, a-z, 0-9, _ and -".into(),
            ))
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ConnectionId {
    type Error = ConnectorError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ConnectionId> for String {
    fn from(value: ConnectionId) -> Self {
        value.0
    }
}

impl std::fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

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
struct CachedStages {
    at: UnixMillis,
    stages: Vec<Stage>,
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

fn notes_suffix(opportunity: &OpportunityId) -> String {
    format!("sync/notes/{}", part(opportunity.as_str()))
}

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

fn reporting_suffix(opportunity: &OpportunityId) -> String {
    format!("sync/reporting/{}", part(opportunity.as_str()))
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
    fn read(raw: Option<&[u8]>) -> Self {
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

/// How many bits of `logs/n` count activity entries; the bits above count audit entries.
/// At 2^24 the activity count carries into the audit count, which then skips one number:
/// its slot simply holds an older entry, which readers pass over.
const ACTIVITY_BITS: u32 = 24;
const ACTIVITY_MASK: u64 = (1 << ACTIVITY_BITS) - 1;

/// The newest numbers of the activity log (modulo 2^24) and of the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LogCounts {
    activity: u64,
    audit: u64,
}

impl LogCounts {
    fn of(counter: i64) -> Self {
        let counter = u64::try_from(counter).unwrap_or(0);
        Self {
            activity: counter & ACTIVITY_MASK,
            audit: counter >> ACTIVITY_BITS,
        }
    }
}

/// A ring log's entry with its number.
#[derive(Serialize, Deserialize)]
struct Numbered<T> {
    seq: u64,
    entry: T,
}

/// The sequence number a log's head holds (`<seq>:<nonce>`, or a bare `<seq>` as written
/// before the nonce); 0 for none.
fn log_head(raw: Option<&[u8]>) -> u64 {
    raw.and_then(|b| std::str::from_utf8(b).ok())
        .and_then(|s| s.split(':').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn storage_error(e: impl std::fmt::Display) -> ConnectorError {
    ConnectorError::Internal(format!("key-value store: {e}"))
}

fn decode<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, ConnectorError> {
    serde_json::from_slice(bytes).map_err(|e| storage_error(format!("{key}: {e}")))
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, ConnectorError> {
    serde_json::to_vec(value).map_err(storage_error)
}

/// Typed access to the deployment-wide state.
#[derive(Clone, Copy)]
pub struct Store<'a> {
    kv: &'a dyn Kv,
}

impl std::fmt::Debug for Store<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

impl<'a> Store<'a> {
    /// State in `kv`.
    pub fn new(kv: &'a dyn Kv) -> Self {
        Self { kv }
    }

    /// The state of one connection.
    pub fn connection(&self, id: &ConnectionId) -> ConnStore<'a> {
        ConnStore {
            kv: self.kv,
            prefix: format!("conn/{}/", id.as_str()),
            id: id.clone(),
        }
    }

    /// Records an OAuth `state` nonce (swept once it expires).
    pub fn put_oauth_state(&self, nonce: &str, state: &OAuthState) -> Result<(), ConnectorError> {
        let key = format!("oauth/state/{}", part(nonce));
        self.connection(&state.connection)
            .expire(std::slice::from_ref(&key), state.expires_at)?;
        if self
            .kv
            .insert_new(&key, &encode(state)?)
            .map_err(storage_error)?
        {
            Ok(())
        } else {
            Err(ConnectorError::Internal(
                "OAuth state nonce collision".into(),
            ))
        }
    }

    /// Uses an OAuth `state` nonce once: `None` when it is unknown or already used (a
    /// concurrent second use loses the compare-and-swap). Expiry is the caller's check.
    pub fn take_oauth_state(
        &self,
        nonce: &str,
        used_by: &str,
    ) -> Result<Option<OAuthState>, ConnectorError> {
        let key = format!("oauth/state/{}", part(nonce));
        let watched = self.kv.watch(&key).map_err(storage_error)?;
        let Some(bytes) = watched.current() else {
            return Ok(None);
        };
        let mut state: OAuthState = decode(&key, bytes)?;
        if state.used {
            return Ok(None);
        }
        state.used = true;
        state.used_by = Some(used_by.to_string());
        let swapped = self
            .kv
            .swap(watched, &encode(&state)?)
            .map_err(storage_error)?;
        Ok(matches!(swapped, Swapped::Done).then_some(state))
    }
}

/// Typed access to one connection's state (every key under `conn/<c>/`).
#[derive(Clone)]
pub struct ConnStore<'a> {
    kv: &'a dyn Kv,
    prefix: String,
    id: ConnectionId,
}

impl std::fmt::Debug for ConnStore<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ConnStore({})", self.prefix)
    }
}

/// A value read together with its stored bytes, for a later compare-and-swap.
#[derive(Debug, Clone)]
pub struct Versioned<T> {
    /// The value.
    pub value: T,
    /// The bytes it was read from.
    pub raw: Vec<u8>,
}

/// The events the connector subscribes to, in install order.
pub const WEBHOOK_EVENTS: [&str; 10] = [
    "candidateStageChange",
    "candidateArchiveChange",
    "candidateHired",
    "candidateDeleted",
    "applicationCreated",
    "contactCreated",
    "contactUpdated",
    "interviewCreated",
    "interviewUpdated",
    "interviewDeleted",
];

impl ConnStore<'_> {
    fn key(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.prefix)
    }

    fn get_raw(&self, suffix: &str) -> Result<Option<Vec<u8>>, ConnectorError> {
        self.kv.get(&self.key(suffix)).map_err(storage_error)
    }

    fn get_string(&self, suffix: &str) -> Result<Option<String>, ConnectorError> {
        match self.get_raw(suffix)? {
            None => Ok(None),
            Some(bytes) => String::from_utf8(bytes)
                .map(Some)
                .map_err(|_| storage_error(format!("{} is not UTF-8", self.key(suffix)))),
        }
    }

    fn get_json<T: DeserializeOwned>(&self, suffix: &str) -> Result<Option<T>, ConnectorError> {
        match self.get_raw(suffix)? {
            None => Ok(None),
            Some(bytes) => decode(&self.key(suffix), &bytes).map(Some),
        }
    }

    /// A JSON value with the bytes it was read from, for a later compare-and-swap.
    fn get_versioned<T: DeserializeOwned>(
        &self,
        suffix: &str,
    ) -> Result<Option<Versioned<T>>, ConnectorError> {
        match self.get_raw(suffix)? {
            None => Ok(None),
            Some(raw) => Ok(Some(Versioned {
                value: decode(&self.key(suffix), &raw)?,
                raw,
            })),
        }
    }

    fn set(&self, suffix: &str, value: &[u8]) -> Result<(), ConnectorError> {
        self.kv.set(&self.key(suffix), value).map_err(storage_error)
    }

    /// A number stored as decimal text (cursors, times, sequence numbers).
    fn get_number(&self, suffix: &str) -> Result<Option<u64>, ConnectorError> {
        Ok(self.get_string(suffix)?.and_then(|s| s.parse().ok()))
    }

    fn set_number(&self, suffix: &str, value: u64) -> Result<(), ConnectorError> {
        self.set(suffix, value.to_string().as_bytes())
    }

    fn delete(&self, suffix: &str) -> Result<(), ConnectorError> {
        self.kv.delete(&self.key(suffix)).map_err(storage_error)
    }

    fn cas(
        &self,
        suffix: &str,
        expected: Option<&[u8]>,
        new: &[u8],
    ) -> Result<bool, ConnectorError> {
        self.kv
            .compare_and_swap(&self.key(suffix), expected, new)
            .map_err(storage_error)
    }

    /// Reads `suffix` for [`Self::swap`].
    fn watch(&self, suffix: &str) -> Result<Watched, ConnectorError> {
        self.kv.watch(&self.key(suffix)).map_err(storage_error)
    }

    /// Writes `new` over what `watched` read, if the key still holds it.
    fn swap(&self, watched: Watched, new: &[u8]) -> Result<Swapped, ConnectorError> {
        self.kv.swap(watched, new).map_err(storage_error)
    }

    // ---- auth ----

    /// The stored credentials, with their bytes for a compare-and-swap.
    pub fn auth(&self) -> Result<Option<Versioned<StoredAuth>>, ConnectorError> {
        self.get_versioned("auth")
    }

    /// Stores credentials unconditionally (a new connection).
    pub fn set_auth(&self, auth: &StoredAuth) -> Result<(), ConnectorError> {
        Store::new(self.kv).register(&self.id, Some(true))?;
        self.set("auth", &encode(auth)?)
    }

    /// Replaces the credentials only if they are still `seen`.
    pub fn swap_auth(&self, seen: &[u8], auth: &StoredAuth) -> Result<bool, ConnectorError> {
        self.cas("auth", Some(seen), &encode(auth)?)
    }

    /// Takes the refresh lock, or takes over a lapsed one: `true` when the caller holds it.
    pub fn acquire_refresh_lock(
        &self,
        lease: &Lease,
        now: UnixMillis,
    ) -> Result<bool, ConnectorError> {
        let watched = self.watch("refresh-lock")?;
        if let Some(bytes) = watched.current() {
            let held: Lease = decode(&self.key("refresh-lock"), bytes)?;
            if held.expires_at > now {
                return Ok(false);
            }
        }
        Ok(matches!(
            self.swap(watched, &encode(lease)?)?,
            Swapped::Done
        ))
    }

    /// Releases the refresh lock if the caller still holds it.
    pub fn release_refresh_lock(&self, lease: &Lease) -> Result<(), ConnectorError> {
        if self.get_json::<Lease>("refresh-lock")?.as_ref() == Some(lease) {
            self.delete("refresh-lock")?;
        }
        Ok(())
    }

    /// Takes a token from the connection's Lever rate-limit bucket, shared by every
    /// instance: one read of the base and one `increment` of the ticket counter, and a write
    /// of a new base when the bucket sat full (at most every tenth of its refill time). `None` when taken, else the wait in
    /// ms (the ticket is given back).
    pub fn take_rate_token(
        &self,
        now: UnixMillis,
        limit: crate::config::RateLimit,
        reserve: f64,
        random: &dyn Random,
    ) -> Result<Option<u64>, ConnectorError> {
        let raw = self.get_raw("rate/base")?;
        let base: Option<crate::lever::RateBase> = match &raw {
            Some(bytes) => Some(decode(&self.key("rate/base"), bytes)?),
            None => None,
        };
        let counter = self.key("rate/n");
        let ticket = self.kv.increment(&counter, 1).map_err(storage_error)?;
        let decided = crate::lever::ticket(base.as_ref(), ticket, now, limit, reserve);
        if let Some(rebased) = decided.rebase {
            // A plain write, no compare-and-swap: a base says "the bucket was full at `at`
            // with ticket `n` taken", true when written; two instances rebasing at once both
            // write a true one, and the one that lands last is at most a write's delay old.
            let rebased = crate::lever::RateBase {
                writer: hex::encode(random.bytes(8)),
                ..rebased
            };
            self.set("rate/base", &encode(&rebased)?)?;
        }
        if decided.wait.is_some() {
            self.kv.increment(&counter, -1).map_err(storage_error)?;
        }
        Ok(decided.wait)
    }

    // ---- triggers ----

    /// The enabled triggers (their names).
    pub fn enabled_triggers(&self) -> Result<Vec<String>, ConnectorError> {
        Ok(self.get_json("triggers")?.unwrap_or_default())
    }

    /// Sets the enabled triggers.
    pub fn set_enabled_triggers(&self, kinds: &[String]) -> Result<(), ConnectorError> {
        self.set("triggers", &encode(&kinds)?)
    }

    /// Whether a trigger event was delivered.
    pub fn trigger_seen(&self, id: &str) -> Result<bool, ConnectorError> {
        Ok(self
            .get_raw(&format!("trigger-seen/{}", part(id)))?
            .is_some())
    }

    /// Marks a trigger event delivered, until `until` (then it is swept).
    pub fn mark_trigger_seen(&self, id: &str, until: UnixMillis) -> Result<(), ConnectorError> {
        let suffix = format!("trigger-seen/{}", part(id));
        self.expire(&[self.key(&suffix)], until)?;
        self.set(&suffix, b"1")
    }

    /// The newest sequence number of a trigger's log (0 when empty).
    pub fn trigger_head(&self, kind: &str) -> Result<u64, ConnectorError> {
        Ok(log_head(
            self.get_raw(&format!("trigger/{kind}/head"))?.as_deref(),
        ))
    }

    /// Appends an event to a trigger's log and drops the one `keep` places back.
    pub fn append_trigger<T: Serialize>(
        &self,
        kind: &str,
        event: &T,
        keep: u64,
        random: &dyn Random,
    ) -> Result<u64, ConnectorError> {
        self.append_log(&format!("trigger/{kind}"), event, keep, random)
    }

    /// Appends to the log under `log` (the sequence number is taken with compare-and-swap)
    /// and drops the entry `keep` places back.
    ///
    /// The head holds `<seq>:<nonce>`: two appends racing for the same number never write
    /// the same bytes, so a host that reports a swap it made as failed (see
    /// [`crate::io::Kv::swap`]'s WASI implementation) is never taken to have let both win.
    fn append_log<T: Serialize>(
        &self,
        log: &str,
        entry: &T,
        keep: u64,
        random: &dyn Random,
    ) -> Result<u64, ConnectorError> {
        let head_key = format!("{log}/head");
        let nonce = hex::encode(random.bytes(8));
        let mut watched = self.watch(&head_key)?;
        for attempt in 1..=32 {
            let next = log_head(watched.current()) + 1;
            match self.swap(watched, format!("{next}:{nonce}").as_bytes())? {
                Swapped::Done => {
                    self.set(&format!("{log}/{next}"), &encode(entry)?)?;
                    if next > keep {
                        self.delete(&format!("{log}/{}", next - keep))?;
                    }
                    return Ok(next);
                }
                Swapped::Changed(_) => {
                    index::back_off(attempt);
                    watched = self.watch(&head_key)?;
                }
            }
        }
        Err(ConnectorError::Conflict(format!(
            "the {log} log kept changing; retry"
        )))
    }

    // ---- outbox and dead letters ----

    fn index(&self, name: &str) -> Result<Vec<String>, ConnectorError> {
        Ok(self.get_json(name)?.unwrap_or_default())
    }

    /// Adds or removes `id` in the JSON list under `name` (compare-and-swap); answers how
    /// many the list holds afterwards.
    fn update_index(&self, name: &str, id: &str, present: bool) -> Result<usize, ConnectorError> {
        let ids = index::update(self.kv, &self.key(name), |ids: &mut Vec<String>| {
            let has = ids.iter().any(|i| i == id);
            if has == present {
                return false;
            }
            if present {
                ids.push(id.to_string());
            } else {
                ids.retain(|i| i != id);
            }
            true
        })?;
        Ok(ids.len())
    }

    /// The tokens in the outbox, oldest first.
    pub fn outbox_tokens(&self) -> Result<Vec<String>, ConnectorError> {
        self.index("outbox-index")
    }

    /// Puts an item in the outbox (indexed first, and the connection marked as having
    /// work, so a crash leaves no item a tick cannot find).
    pub fn put_outbox(&self, item: &OutboxItem) -> Result<(), ConnectorError> {
        self.update_index("outbox-index", &item.token, true)?;
        Store::new(self.kv).set_outbox_active(&self.id, true)?;
        self.set(&format!("outbox/{}", part(&item.token)), &encode(item)?)
    }

    /// An outbox item with its bytes, for a compare-and-swap.
    pub fn outbox_item(
        &self,
        token: &str,
    ) -> Result<Option<Versioned<OutboxItem>>, ConnectorError> {
        self.get_versioned(&format!("outbox/{}", part(token)))
    }

    /// Replaces an outbox item if it still holds `seen`.
    pub fn swap_outbox(&self, seen: &[u8], item: &OutboxItem) -> Result<bool, ConnectorError> {
        self.cas(
            &format!("outbox/{}", part(&item.token)),
            Some(seen),
            &encode(item)?,
        )
    }

    /// Removes an item from the outbox (and, when it was the last, the connection from the
    /// active outboxes; an item put meanwhile puts it back).
    pub fn remove_outbox(&self, token: &str) -> Result<(), ConnectorError> {
        self.delete(&format!("outbox/{}", part(token)))?;
        if self.update_index("outbox-index", token, false)? == 0 {
            let store = Store::new(self.kv);
            store.set_outbox_active(&self.id, false)?;
            if !self.outbox_tokens()?.is_empty() {
                store.set_outbox_active(&self.id, true)?;
            }
        }
        Ok(())
    }

    /// Moves an item to the dead letters.
    pub fn put_dead_letter(&self, item: &OutboxItem) -> Result<(), ConnectorError> {
        self.update_index("dead-index", &item.token, true)?;
        self.set(&format!("dead/{}", part(&item.token)), &encode(item)?)?;
        self.remove_outbox(&item.token)
    }

    /// The dead letters, oldest first.
    pub fn dead_letters(&self) -> Result<Vec<OutboxItem>, ConnectorError> {
        let mut letters = Vec::new();
        for token in self.index("dead-index")? {
            if let Some(item) = self.get_json(&format!("dead/{}", part(&token)))? {
                letters.push(item);
            }
        }
        Ok(letters)
    }

    /// Takes a dead letter out (to replay it); `None` when there is none under `token`.
    pub fn take_dead_letter(&self, token: &str) -> Result<Option<OutboxItem>, ConnectorError> {
        let suffix = format!("dead/{}", part(token));
        let Some(item) = self.get_json::<OutboxItem>(&suffix)? else {
            return Ok(None);
        };
        self.delete(&suffix)?;
        self.update_index("dead-index", token, false)?;
        Ok(Some(item))
    }

    // ---- activity and audit ----

    /// Appends `activity` (when some) and `audit` entries to the connection's logs and
    /// writes `also` (full keys, values) with them: one `increment` numbers the entries and
    /// one `set-many` writes everything. Nothing is read, swapped or deleted: each log is a
    /// ring of slots, and an entry carries its number, so a reader tells a slot's entry
    /// from one a lap older, and a slow writer's late entry from a newer one.
    pub fn append_logs(
        &self,
        activity: Option<&Activity>,
        audit: &[crate::audit::AuditEntry],
        mut also: Vec<(String, Vec<u8>)>,
    ) -> Result<(), ConnectorError> {
        let activities = u64::from(activity.is_some());
        let audits = audit.len() as u64;
        if activities + audits > 0 {
            let delta = activities + (audits << ACTIVITY_BITS);
            let after = self
                .kv
                .increment(
                    &self.key("logs/n"),
                    i64::try_from(delta).unwrap_or(i64::MAX),
                )
                .map_err(storage_error)?;
            let counts = LogCounts::of(after);
            if let Some(entry) = activity {
                also.push(self.ring_write(
                    "activity",
                    keys::ACTIVITY_RING,
                    counts.activity,
                    entry,
                )?);
            }
            for (i, entry) in audit.iter().enumerate() {
                let seq = counts.audit.saturating_sub(audits - 1 - i as u64);
                also.push(self.ring_write("audit", keys::AUDIT_RING, seq, entry)?);
            }
        }
        self.kv.set_many(&also).map_err(storage_error)
    }

    fn ring_write<T: Serialize>(
        &self,
        log: &str,
        ring: u64,
        seq: u64,
        entry: &T,
    ) -> Result<(String, Vec<u8>), ConnectorError> {
        Ok((
            self.key(&format!("{log}/s/{}", seq % ring)),
            encode(&Numbered { seq, entry })?,
        ))
    }

    /// The numbers of the newest activity and audit entries.
    fn log_counts(&self) -> Result<LogCounts, ConnectorError> {
        self.kv
            .increment(&self.key("logs/n"), 0)
            .map(LogCounts::of)
            .map_err(storage_error)
    }

    /// Up to `max` entries of a ring log whose newest number is `head`, newest first;
    /// `wraps`: numbers are taken modulo 2^24 (the activity log's).
    fn recent_ring<T: DeserializeOwned>(
        &self,
        log: &str,
        ring: u64,
        head: u64,
        max: u64,
        wraps: bool,
    ) -> Result<Vec<T>, ConnectorError> {
        let span = if wraps { max } else { max.min(head) };
        let mut entries = Vec::new();
        for back in 0..span {
            let seq = if wraps {
                head.wrapping_sub(back) & ACTIVITY_MASK
            } else {
                head - back
            };
            let key = format!("{log}/s/{}", seq % ring);
            if let Some(numbered) = self.get_json::<Numbered<T>>(&key)? {
                if numbered.seq == seq {
                    entries.push(numbered.entry);
                }
            }
        }
        Ok(entries)
    }

    /// Up to `max` entries of a log as 0.2 wrote it (`<log>/head`, `<log>/<seq>`), newest
    /// first: shown after the ring's until the ring holds enough.
    fn legacy_log<T: DeserializeOwned>(
        &self,
        log: &str,
        max: u64,
    ) -> Result<Vec<T>, ConnectorError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let head = log_head(self.get_raw(&format!("{log}/head"))?.as_deref());
        let mut entries = Vec::new();
        for seq in (head.saturating_sub(max) + 1..=head).rev() {
            if let Some(entry) = self.get_json(&format!("{log}/{seq}"))? {
                entries.push(entry);
            }
        }
        Ok(entries)
    }

    /// Up to `max` (at most 500) recorded writes, newest first.
    pub fn recent_audit(&self, max: u64) -> Result<Vec<crate::audit::AuditEntry>, ConnectorError> {
        let max = max.min(keys::AUDIT_KEEP);
        let head = self.log_counts()?.audit;
        let mut entries: Vec<crate::audit::AuditEntry> =
            self.recent_ring("audit", keys::AUDIT_RING, head, max, false)?;
        let more = max - entries.len() as u64;
        entries.extend(self.legacy_log("audit", more)?);
        Ok(entries)
    }

    /// Records a delivery or partner event (the last 100 are kept).
    pub fn append_activity(&self, entry: &Activity) -> Result<(), ConnectorError> {
        self.append_logs(Some(entry), &[], Vec::new())
    }

    /// Records a write to Lever or the partner (the last 500 are kept).
    pub fn append_audit(&self, entry: &crate::audit::AuditEntry) -> Result<(), ConnectorError> {
        self.append_logs(None, std::slice::from_ref(entry), Vec::new())
    }

    /// Up to `max` (at most 100) activity entries, newest first.
    pub fn recent_activity(&self, max: u64) -> Result<Vec<Activity>, ConnectorError> {
        let max = max.min(keys::ACTIVITY_KEEP);
        let head = self.log_counts()?.activity;
        let mut entries: Vec<Activity> =
            self.recent_ring("activity", keys::ACTIVITY_RING, head, max, true)?;
        let more = max - entries.len() as u64;
        entries.extend(self.legacy_log("activity", more)?);
        Ok(entries)
    }

    // ---- connect portal ----

    /// Records a portal link under its nonce (swept once it expires).
    pub fn put_portal_link(&self, nonce: &str, link: &PortalLink) -> Result<(), ConnectorError> {
        self.expire(
            &[self.key(&format!("portal/link/{}", part(nonce)))],
            link.expires_at,
        )?;
        if self.cas(
            &format!("portal/link/{}", part(nonce)),
            None,
            &encode(link)?,
        )? {
            Ok(())
        } else {
            Err(ConnectorError::Internal(
                "portal link nonce collision".into(),
            ))
        }
    }

    /// Uses a portal link once: `Err(true)` when it was used before, `Err(false)` when it is
    /// unknown (a concurrent second use loses the compare-and-swap). Expiry is the caller's
    /// check.
    pub fn take_portal_link(
        &self,
        nonce: &str,
        used_by: &str,
    ) -> Result<Result<PortalLink, bool>, ConnectorError> {
        let suffix = format!("portal/link/{}", part(nonce));
        let watched = self.watch(&suffix)?;
        let Some(bytes) = watched.current() else {
            return Ok(Err(false));
        };
        let mut link: PortalLink = decode(&self.key(&suffix), bytes)?;
        if link.used {
            return Ok(Err(true));
        }
        link.used = true;
        link.used_by = Some(used_by.to_string());
        match self.swap(watched, &encode(&link)?)? {
            Swapped::Done => Ok(Ok(link)),
            Swapped::Changed(_) => Ok(Err(true)),
        }
    }

    /// A portal session.
    pub fn portal_session(&self, id: &str) -> Result<Option<PortalSession>, ConnectorError> {
        self.get_json(&format!("portal/session/{}", part(id)))
    }

    /// Starts a portal session (swept once it expires).
    pub fn start_portal_session(
        &self,
        id: &str,
        session: &PortalSession,
    ) -> Result<(), ConnectorError> {
        self.expire(
            &[self.key(&format!("portal/session/{}", part(id)))],
            session.expires_at,
        )?;
        self.set_portal_session(id, session)
    }

    /// Stores a portal session.
    pub fn set_portal_session(
        &self,
        id: &str,
        session: &PortalSession,
    ) -> Result<(), ConnectorError> {
        self.set(&format!("portal/session/{}", part(id)), &encode(session)?)
    }

    /// Up to `max` events of a trigger after sequence number `after`, oldest first.
    pub fn triggers<T: DeserializeOwned>(
        &self,
        kind: &str,
        after: u64,
        max: u64,
    ) -> Result<Vec<T>, ConnectorError> {
        let head = self.trigger_head(kind)?;
        let mut events = Vec::new();
        for seq in (after + 1)..=head.min(after.saturating_add(max)) {
            if let Some(event) = self.get_json(&format!("trigger/{kind}/{seq}"))? {
                events.push(event);
            }
        }
        Ok(events)
    }

    /// The postings poll's cursor.
    pub fn posting_cursor(&self) -> Result<Option<UnixMillis>, ConnectorError> {
        self.get_number("posting-cursor")
    }

    /// Moves the postings poll's cursor.
    pub fn set_posting_cursor(&self, at: UnixMillis) -> Result<(), ConnectorError> {
        self.set_number("posting-cursor", at)
    }

    /// The `updatedAt` last delivered for a posting.
    pub fn posting_seen(&self, id: &str) -> Result<Option<UnixMillis>, ConnectorError> {
        self.get_number(&format!("posting-seen/{}", part(id)))
    }

    /// Remembers the `updatedAt` delivered for a posting (`first`: never seen before, so
    /// the owned-key index records it).
    pub fn set_posting_seen(
        &self,
        id: &str,
        at: UnixMillis,
        first: bool,
    ) -> Result<(), ConnectorError> {
        let suffix = format!("posting-seen/{}", part(id));
        if first {
            self.own(&[self.key(&suffix)])?;
        }
        self.set_number(&suffix, at)
    }

    // ---- settings ----

    /// The Lever user writes are attributed to.
    pub fn perform_as(&self) -> Result<Option<String>, ConnectorError> {
        self.get_string("perform-as")
    }

    /// Sets the `perform_as` user.
    pub fn set_perform_as(&self, user: &str) -> Result<(), ConnectorError> {
        self.set("perform-as", user.as_bytes())
    }

    /// The Lever environment chosen for the connection, when one was.
    pub fn environment(&self) -> Result<Option<crate::config::Tier>, ConnectorError> {
        Ok(self
            .get_string("environment")?
            .map(|name| crate::config::Tier::from_stored(&name)))
    }

    /// Chooses the connection's Lever environment.
    pub fn set_environment(&self, tier: crate::config::Tier) -> Result<(), ConnectorError> {
        self.set("environment", tier.as_str().as_bytes())
    }

    /// The stage map, if set.
    pub fn stage_map(&self) -> Result<Option<BTreeMap<String, String>>, ConnectorError> {
        self.get_json("stage-map")
    }

    /// Replaces the stage map.
    pub fn set_stage_map(&self, map: &BTreeMap<String, String>) -> Result<(), ConnectorError> {
        self.set("stage-map", &encode(map)?)
    }

    /// The chosen upload stage (absent: the default rule).
    pub fn upload_stage(&self) -> Result<Option<StageId>, ConnectorError> {
        Ok(self.get_string("upload-stage")?.map(StageId))
    }

    /// Sets (`Some`) or clears (`None`: back to the default rule) the upload stage.
    pub fn set_upload_stage(&self, stage: Option<&StageId>) -> Result<(), ConnectorError> {
        match stage {
            Some(stage) => self.set("upload-stage", stage.as_str().as_bytes()),
            None => self.delete("upload-stage"),
        }
    }

    /// Lever's stages as last read, and when (Unix ms).
    pub fn cached_stages(&self) -> Result<Option<(UnixMillis, Vec<Stage>)>, ConnectorError> {
        Ok(self
            .get_json::<CachedStages>("cache/stages")?
            .map(|c| (c.at, c.stages)))
    }

    /// Remembers Lever's stages as read at `at`.
    pub fn set_cached_stages(
        &self,
        at: UnixMillis,
        stages: &[Stage],
    ) -> Result<(), ConnectorError> {
        self.set(
            "cache/stages",
            &encode(&CachedStages {
                at,
                stages: stages.to_vec(),
            })?,
        )
    }

    /// Partner role → Lever posting links.
    pub fn roles(&self) -> Result<BTreeMap<String, String>, ConnectorError> {
        Ok(self.get_json("roles")?.unwrap_or_default())
    }

    /// Links (`Some(posting)`) or unlinks (`None`) a role, safely against concurrent edits;
    /// answers whether the role was linked before.
    pub fn set_role(&self, role: &str, posting: Option<&str>) -> Result<bool, ConnectorError> {
        let mut watched = self.watch("roles")?;
        for attempt in 1..=16 {
            let mut roles: BTreeMap<String, String> = match watched.current() {
                None => BTreeMap::new(),
                Some(bytes) => decode(&self.key("roles"), bytes)?,
            };
            let existed = match posting {
                Some(posting) => roles.insert(role.into(), posting.into()).is_some(),
                None => roles.remove(role).is_some(),
            };
            match self.swap(watched, &encode(&roles)?)? {
                Swapped::Done => return Ok(existed),
                Swapped::Changed(_) => {
                    index::back_off(attempt);
                    watched = self.watch("roles")?;
                }
            }
        }
        Err(ConnectorError::Conflict(
            "the role links kept changing; retry".into(),
        ))
    }

    /// The archive reason partner rejections use.
    pub fn rejection_reason(&self) -> Result<Option<String>, ConnectorError> {
        self.get_string("rejection-reason")
    }

    /// Sets the archive reason partner rejections use.
    pub fn set_rejection_reason(&self, reason: &str) -> Result<(), ConnectorError> {
        self.set("rejection-reason", reason.as_bytes())
    }

    /// The names the mapped Lever stages had when they were mapped.
    pub fn stage_names(&self) -> Result<BTreeMap<String, String>, ConnectorError> {
        Ok(self.get_json("stage-names")?.unwrap_or_default())
    }

    /// Records the mapped Lever stages' names.
    pub fn set_stage_names(&self, names: &BTreeMap<String, String>) -> Result<(), ConnectorError> {
        self.set("stage-names", &encode(names)?)
    }

    /// The reconciliation cursor.
    pub fn reconcile_cursor(&self) -> Result<Option<UnixMillis>, ConnectorError> {
        self.get_number("sync/cursor")
    }

    /// Moves the reconciliation cursor.
    pub fn set_reconcile_cursor(&self, at: UnixMillis) -> Result<(), ConnectorError> {
        self.set_number("sync/cursor", at)
    }

    /// The tags every upload gets.
    pub fn upload_tags(&self) -> Result<Vec<String>, ConnectorError> {
        Ok(self.get_json("upload-tags")?.unwrap_or_default())
    }

    /// Sets the tags every upload gets.
    pub fn set_upload_tags(&self, tags: &[String]) -> Result<(), ConnectorError> {
        self.set("upload-tags", &encode(&tags)?)
    }

    // ---- uploads ----

    /// A partner candidate's upload, with its bytes for a compare-and-swap.
    pub fn upload_intent(
        &self,
        partner_candidate_id: &str,
    ) -> Result<Option<Versioned<UploadIntent>>, ConnectorError> {
        self.get_versioned(&format!("upload/{}", part(partner_candidate_id)))
    }

    /// Replaces an upload intent if it is still `expected` (`None`: absent, and the
    /// owned-key index records the candidate's keys first).
    pub fn swap_upload_intent(
        &self,
        partner_candidate_id: &str,
        expected: Option<&[u8]>,
        new: &[u8],
    ) -> Result<bool, ConnectorError> {
        if expected.is_none() {
            self.own(&self.candidate_keys(partner_candidate_id))?;
        }
        self.cas(
            &format!("upload/{}", part(partner_candidate_id)),
            expected,
            new,
        )
    }

    /// Forgets an upload intent (nothing was created).
    pub fn delete_upload_intent(&self, partner_candidate_id: &str) -> Result<(), ConnectorError> {
        self.delete(&format!("upload/{}", part(partner_candidate_id)))
    }

    // ---- webhooks ----

    /// Our webhook for `event`, if installed.
    pub fn webhook(&self, event: &str) -> Result<Option<InstalledWebhook>, ConnectorError> {
        self.get_json(&format!("webhook/{}", part(event)))
    }

    /// Every webhook we installed, in [`WEBHOOK_EVENTS`] order.
    pub fn webhooks(&self) -> Result<Vec<InstalledWebhook>, ConnectorError> {
        let mut all = Vec::new();
        for event in WEBHOOK_EVENTS {
            all.extend(self.webhook(event)?);
        }
        Ok(all)
    }

    /// Records a webhook we installed.
    pub fn set_webhook(&self, webhook: &InstalledWebhook) -> Result<(), ConnectorError> {
        self.set(
            &format!("webhook/{}", part(&webhook.event)),
            &encode(webhook)?,
        )
    }

    /// Forgets our webhook for `event` and its delivery time.
    pub fn delete_webhook(&self, event: &str) -> Result<(), ConnectorError> {
        self.delete(&format!("webhook/{}", part(event)))?;
        self.delete(&format!("webhook-seen/{}", part(event)))
    }

    /// When the last verified delivery of `event` arrived.
    pub fn webhook_seen(&self, event: &str) -> Result<Option<UnixMillis>, ConnectorError> {
        self.get_number(&format!("webhook-seen/{}", part(event)))
    }

    /// Records a verified delivery of `event`.
    pub fn set_webhook_seen(&self, event: &str, at: UnixMillis) -> Result<(), ConnectorError> {
        self.set_number(&format!("webhook-seen/{}", part(event)), at)
    }

    /// The write that records a verified delivery of `event`, for the caller to make with
    /// its other writes.
    pub fn webhook_seen_write(&self, event: &str, at: UnixMillis) -> (String, Vec<u8>) {
        (
            self.key(&format!("webhook-seen/{}", part(event))),
            at.to_string().into_bytes(),
        )
    }

    // ---- deliveries ----

    /// Claims a delivery token before its work starts. A token already handled, or being
    /// handled within `lease_ms`, is a duplicate; a claim older than the lease (its instance
    /// was stopped) is taken over so the work is redone. The record is kept until
    /// `keep_until` (recorded in the expiry index before it is written, so a crash leaves
    /// no record the sweep cannot find).
    pub fn claim_delivery(
        &self,
        token: &str,
        record: &DeliveryRecord,
        lease_ms: u64,
        keep_until: UnixMillis,
    ) -> Result<Claim, ConnectorError> {
        let suffix = format!("delivery/{}", part(token));
        let new = encode(record)?;
        // Indexed before the watch, not between it and the swap: Spin's SQLite store swaps a
        // key that was absent when watched with an unconditional upsert, so the time between
        // the two is a window in which two claimers of a new token can both win.
        if self.get_raw(&suffix)?.is_none() {
            self.expire(&[self.key(&suffix)], keep_until)?;
        }
        let mut watched = self.watch(&suffix)?;
        for _ in 0..4 {
            if let Some(bytes) = watched.current() {
                let existing: DeliveryRecord = decode(&self.key(&suffix), bytes)?;
                let lapsed = existing.state == DeliveryState::Processing
                    && existing.handled_at.saturating_add(lease_ms) <= record.handled_at;
                if !lapsed {
                    return Ok(Claim::Duplicate(existing));
                }
            }
            match self.swap(watched, &new)? {
                Swapped::Done => return Ok(Claim::Claimed),
                Swapped::Changed(fresh) => watched = fresh,
            }
        }
        // Others kept winning the race: one of them owns it.
        match self.get_json(&suffix)? {
            Some(existing) => Ok(Claim::Duplicate(existing)),
            None => Err(storage_error("the delivery claim kept changing")),
        }
    }

    /// A delivery's record under its token.
    pub fn delivery_record(&self, token: &str) -> Result<Option<DeliveryRecord>, ConnectorError> {
        self.get_json(&format!("delivery/{}", part(token)))
    }

    /// Gives up a claim whose work failed, so a retry of the same delivery can redo it.
    pub fn release_delivery(&self, token: &str) -> Result<(), ConnectorError> {
        self.delete(&format!("delivery/{}", part(token)))
    }

    /// The write that records a handled delivery (over its claim), for the caller to make
    /// with its other writes. `again_until`: the record is written anew by a later attempt
    /// (the outbox), after its claim's lifetime may have ended, so it is recorded in the
    /// expiry index again (now), until then.
    pub fn delivery_record_write(
        &self,
        token: &str,
        record: &DeliveryRecord,
        again_until: Option<UnixMillis>,
    ) -> Result<(String, Vec<u8>), ConnectorError> {
        let key = self.key(&format!("delivery/{}", part(token)));
        if let Some(until) = again_until {
            self.expire(std::slice::from_ref(&key), until)?;
        }
        Ok((key, encode(record)?))
    }

    /// Records a delivery's record in the expiry index until `until`, before it is written
    /// by a flow that did not claim its token.
    pub fn expire_delivery_record(
        &self,
        token: &str,
        until: UnixMillis,
    ) -> Result<(), ConnectorError> {
        self.expire(&[self.key(&format!("delivery/{}", part(token)))], until)
    }

    /// Writes every `(key, value)` (full keys) in one call.
    pub fn set_many(&self, writes: Vec<(String, Vec<u8>)>) -> Result<(), ConnectorError> {
        self.kv.set_many(&writes).map_err(storage_error)
    }

    // ---- links ----

    /// The partner candidate linked to an opportunity.
    pub fn linked_candidate(
        &self,
        opportunity: &OpportunityId,
    ) -> Result<Option<String>, ConnectorError> {
        self.get_string(&format!("link/opportunity/{}", part(opportunity.as_str())))
    }

    /// The opportunity linked to a partner candidate.
    pub fn linked_opportunity(
        &self,
        partner_candidate_id: &str,
    ) -> Result<Option<OpportunityId>, ConnectorError> {
        Ok(self
            .get_string(&format!("link/partner/{}", part(partner_candidate_id)))?
            .map(OpportunityId))
    }

    /// The keys a partner candidate's upload and link are kept under.
    fn candidate_keys(&self, partner_candidate_id: &str) -> Vec<String> {
        let id = part(partner_candidate_id);
        vec![
            self.key(&format!("upload/{id}")),
            self.key(&format!("link/partner/{id}")),
        ]
    }

    /// The keys an opportunity's link and what was reported about it are kept under.
    fn opportunity_keys(&self, opportunity: &OpportunityId) -> Vec<String> {
        let id = part(opportunity.as_str());
        [
            "link/opportunity",
            "sync/reported-stage",
            "sync/reported-archive",
            "sync/reporting",
            "sync/notes",
        ]
        .iter()
        .map(|k| self.key(&format!("{k}/{id}")))
        .collect()
    }

    /// Links a partner candidate and an opportunity both ways (a new link is recorded in
    /// the owned-key index first, with every key kept for that opportunity and candidate).
    pub fn link(
        &self,
        partner_candidate_id: &str,
        opportunity: &OpportunityId,
    ) -> Result<(), ConnectorError> {
        let known = self.linked_candidate(opportunity)?.is_some()
            && self.linked_opportunity(partner_candidate_id)?.as_ref() == Some(opportunity);
        if !known {
            let mut keys = self.opportunity_keys(opportunity);
            keys.extend(self.candidate_keys(partner_candidate_id));
            self.own(&keys)?;
            // The opportunity's claim exists (released) from the start, so every claim of
            // it is a swap of a present value: on Spin's SQLite store a swap of an absent
            // key is an unconditional upsert that two claimers could both win.
            let reporting = reporting_suffix(opportunity);
            if self.get_raw(&reporting)?.is_none() {
                self.set(&reporting, &encode(&Reporting::default())?)?;
            }
            // The notes' guard too, for the same reason.
            let notes = notes_suffix(opportunity);
            if self.get_raw(&notes)?.is_none() {
                self.set(&notes, &encode(&PartnerNotes::default())?)?;
            }
        }
        self.set(
            &format!("link/opportunity/{}", part(opportunity.as_str())),
            partner_candidate_id.as_bytes(),
        )?;
        self.set(
            &format!("link/partner/{}", part(partner_candidate_id)),
            opportunity.as_str().as_bytes(),
        )
    }

    /// The Lever stage last reported to the partner for an opportunity.
    pub fn reported_stage(
        &self,
        opportunity: &OpportunityId,
    ) -> Result<Option<StageId>, ConnectorError> {
        Ok(self.reported_stage_at(opportunity)?.map(|(stage, _)| stage))
    }

    /// The Lever stage last reported for an opportunity, with when that change happened in
    /// Lever when a Lever change reported it (`None` when the partner set it, or an upload).
    pub fn reported_stage_at(
        &self,
        opportunity: &OpportunityId,
    ) -> Result<Option<(StageId, Option<UnixMillis>)>, ConnectorError> {
        Ok(self
            .reported("stage", opportunity)?
            .map(|(stage, at)| (StageId(stage), at)))
    }

    /// What was last reported to the partner about an opportunity (`kind`: `stage` or
    /// `archive`), stored as `value` or `value\n<Unix ms of the Lever change>`.
    fn reported(
        &self,
        kind: &str,
        opportunity: &OpportunityId,
    ) -> Result<Option<(String, Option<UnixMillis>)>, ConnectorError> {
        Ok(self
            .get_string(&format!(
                "sync/reported-{kind}/{}",
                part(opportunity.as_str())
            ))?
            .map(|value| match value.split_once('\n') {
                Some((reported, at)) => (reported.to_string(), at.parse().ok()),
                None => (value, None),
            }))
    }

    /// Remembers the Lever stage reported to the partner by a Lever change of `at`.
    pub fn set_reported_stage_at(
        &self,
        opportunity: &OpportunityId,
        stage: &StageId,
        at: UnixMillis,
    ) -> Result<(), ConnectorError> {
        self.set(
            &format!("sync/reported-stage/{}", part(opportunity.as_str())),
            format!("{}\n{at}", stage.as_str()).as_bytes(),
        )
    }

    /// The write that remembers the Lever stage reported by a Lever change of `at`.
    pub fn reported_stage_at_write(
        &self,
        opportunity: &OpportunityId,
        stage: &StageId,
        at: UnixMillis,
    ) -> (String, Vec<u8>) {
        (
            self.key(&format!(
                "sync/reported-stage/{}",
                part(opportunity.as_str())
            )),
            format!("{}\n{at}", stage.as_str()).into_bytes(),
        )
    }

    /// Remembers the Lever stage the partner knows (it set it, or an upload placed it).
    pub fn set_reported_stage(
        &self,
        opportunity: &OpportunityId,
        stage: &StageId,
    ) -> Result<(), ConnectorError> {
        self.set(
            &format!("sync/reported-stage/{}", part(opportunity.as_str())),
            stage.as_str().as_bytes(),
        )
    }

    /// The archive state last reported to the partner for an opportunity.
    pub fn reported_archive(
        &self,
        opportunity: &OpportunityId,
    ) -> Result<Option<String>, ConnectorError> {
        Ok(self
            .reported_archive_at(opportunity)?
            .map(|(state, _)| state))
    }

    /// The archive state last reported to the partner for an opportunity, and when that
    /// state began in Lever when a Lever change reported it (`None` when the partner set it,
    /// or it was stored before times were kept).
    pub fn reported_archive_at(
        &self,
        opportunity: &OpportunityId,
    ) -> Result<Option<(String, Option<UnixMillis>)>, ConnectorError> {
        self.reported("archive", opportunity)
    }

    /// Remembers the archive state a Lever change of `at` told the partner (or, for
    /// `active` with nothing reported before, found nothing to tell).
    pub fn set_reported_archive_at(
        &self,
        opportunity: &OpportunityId,
        state: &str,
        at: UnixMillis,
    ) -> Result<(), ConnectorError> {
        self.set(
            &format!("sync/reported-archive/{}", part(opportunity.as_str())),
            format!("{state}\n{at}").as_bytes(),
        )
    }

    /// Claims the right to report an opportunity's change to the partner until `until`:
    /// `false` while another request holds an unexpired claim. A claim left by a stopped
    /// instance lapses, so a retry can report what it never sent. What the key remembers
    /// of stage-change deliveries is kept.
    pub fn claim_report(
        &self,
        opportunity: &OpportunityId,
        now: UnixMillis,
        until: UnixMillis,
        nonce: &str,
    ) -> Result<bool, ConnectorError> {
        let suffix = reporting_suffix(opportunity);
        let watched = self.watch(&suffix)?;
        let current = Reporting::read(watched.current());
        if current.until > now {
            return Ok(false);
        }
        let claimed = Reporting {
            until,
            nonce: nonce.to_string(),
            token: None,
            ..current
        };
        Ok(matches!(
            self.swap(watched, &encode(&claimed)?)?,
            Swapped::Done
        ))
    }

    /// Releases a report claim (keeping what the key remembers of stage-change deliveries).
    pub fn release_report(&self, opportunity: &OpportunityId) -> Result<(), ConnectorError> {
        self.release_report_with(opportunity, Vec::new())
    }

    /// Releases a report claim with `writes` (what was reported), in one write.
    pub fn release_report_with(
        &self,
        opportunity: &OpportunityId,
        mut writes: Vec<(String, Vec<u8>)>,
    ) -> Result<(), ConnectorError> {
        let suffix = reporting_suffix(opportunity);
        let current = Reporting::read(self.get_raw(&suffix)?.as_deref());
        let released = Reporting {
            until: 0,
            token: None,
            ..current
        };
        writes.push((self.key(&suffix), encode(&released)?));
        self.set_many(writes)
    }

    /// Claims an opportunity for the stage-change delivery `token`, the delivery's claim and
    /// the report's in one compare-and-swap (see [`Reporting`]).
    pub fn claim_opportunity(
        &self,
        opportunity: &OpportunityId,
        token: &str,
        now: UnixMillis,
        until: UnixMillis,
        nonce: &str,
    ) -> Result<OpportunityClaim, ConnectorError> {
        let suffix = reporting_suffix(opportunity);
        let mut watched = self.watch(&suffix)?;
        for _ in 0..4 {
            let current = Reporting::read(watched.current());
            if let Some(seen) = current.recent.iter().find(|h| h.token == token) {
                return Ok(OpportunityClaim::Handled(seen.state));
            }
            if current.until > now {
                return Ok(if current.token.as_deref() == Some(token) {
                    OpportunityClaim::Handled(DeliveryState::Processing)
                } else {
                    OpportunityClaim::HeldByOther
                });
            }
            let claimed = Reporting {
                until,
                nonce: nonce.to_string(),
                token: Some(token.to_string()),
                ..current
            };
            match self.swap(watched, &encode(&claimed)?)? {
                Swapped::Done => return Ok(OpportunityClaim::Claimed(claimed)),
                Swapped::Changed(fresh) => watched = fresh,
            }
        }
        Ok(OpportunityClaim::HeldByOther)
    }

    /// Claims adding partner note `id` to `opportunity` until `until`, unless it was added
    /// or another request holds it.
    pub fn claim_note(
        &self,
        opportunity: &OpportunityId,
        id: &str,
        now: UnixMillis,
        until: UnixMillis,
    ) -> Result<NoteClaim, ConnectorError> {
        let suffix = notes_suffix(opportunity);
        let mut watched = self.watch(&suffix)?;
        if watched.current().is_none() {
            // A link made before 0.3 has no guard yet: index it before its first write.
            self.own(&[self.key(&suffix)])?;
        }
        for attempt in 0..6 {
            let mut current: PartnerNotes = match watched.current() {
                Some(raw) => serde_json::from_slice(raw).unwrap_or_default(),
                None => PartnerNotes::default(),
            };
            let mut earlier = None;
            if let Some(note) = current.notes.iter().find(|n| n.id == id) {
                if let Some(lever) = &note.lever_note_id {
                    return Ok(NoteClaim::Added(lever.clone()));
                }
                if note.until > now {
                    return Ok(NoteClaim::Busy);
                }
                earlier = Some(note.at);
            }
            current.notes.retain(|n| n.id != id);
            current.notes.push(PartnerNote {
                id: id.to_string(),
                at: earlier.unwrap_or(now),
                until,
                lever_note_id: None,
            });
            let excess = current.notes.len().saturating_sub(NOTES_RECENT);
            current.notes.drain(..excess);
            match self.swap(watched, &encode(&current)?)? {
                Swapped::Done => return Ok(NoteClaim::Claimed { earlier }),
                Swapped::Changed(fresh) => {
                    watched = fresh;
                    crate::store::index::back_off(attempt);
                }
            }
        }
        Ok(NoteClaim::Busy)
    }

    /// Records that partner note `id` is Lever's `lever_note_id`.
    pub fn note_added(
        &self,
        opportunity: &OpportunityId,
        id: &str,
        lever_note_id: &str,
    ) -> Result<(), ConnectorError> {
        let suffix = notes_suffix(opportunity);
        let mut watched = self.watch(&suffix)?;
        for attempt in 0..8 {
            let mut current: PartnerNotes = match watched.current() {
                Some(raw) => serde_json::from_slice(raw).unwrap_or_default(),
                None => PartnerNotes::default(),
            };
            match current.notes.iter_mut().find(|n| n.id == id) {
                Some(note) => {
                    note.until = 0;
                    note.lever_note_id = Some(lever_note_id.to_string());
                }
                None => current.notes.push(PartnerNote {
                    id: id.to_string(),
                    at: 0,
                    until: 0,
                    lever_note_id: Some(lever_note_id.to_string()),
                }),
            }
            let excess = current.notes.len().saturating_sub(NOTES_RECENT);
            current.notes.drain(..excess);
            match self.swap(watched, &encode(&current)?)? {
                Swapped::Done => return Ok(()),
                Swapped::Changed(fresh) => {
                    watched = fresh;
                    crate::store::index::back_off(attempt);
                }
            }
        }
        Err(ConnectorError::Conflict(format!(
            "partner note {id} was added, but recording it kept conflicting; a retry finds it in Lever"
        )))
    }

    /// The write that releases an opportunity claimed by [`Self::claim_opportunity`] and
    /// remembers the delivery as `handled` (when it was), forgetting deliveries handled
    /// before `forget_before` and all but the newest [`REPORTING_RECENT`].
    pub fn release_opportunity_write(
        &self,
        opportunity: &OpportunityId,
        held: &Reporting,
        handled: Option<Handled>,
        forget_before: UnixMillis,
    ) -> Result<(String, Vec<u8>), ConnectorError> {
        let mut recent: Vec<Handled> = held
            .recent
            .iter()
            .filter(|h| h.at >= forget_before)
            .cloned()
            .collect();
        recent.extend(handled);
        let excess = recent.len().saturating_sub(REPORTING_RECENT);
        recent.drain(..excess);
        let released = Reporting {
            until: 0,
            nonce: held.nonce.clone(),
            token: None,
            recent,
        };
        Ok((self.key(&reporting_suffix(opportunity)), encode(&released)?))
    }

    /// Remembers the archive state reported to the partner.
    pub fn set_reported_archive(
        &self,
        opportunity: &OpportunityId,
        state: &str,
    ) -> Result<(), ConnectorError> {
        self.set(
            &format!("sync/reported-archive/{}", part(opportunity.as_str())),
            state.as_bytes(),
        )
    }

    // ---- disconnect ----

    /// Deletes every key of this connection (`purge`), or (a disconnect) the keys whose
    /// class [`keys::Class::kept_on_disconnect`] says go: credentials, webhooks and caches,
    /// keeping settings, links, logs, accepted work and guards for a reconnect. Every key is
    /// found from the key table and the connection's indexes, so this costs what the
    /// connection holds, whatever other connections hold. Answers how many keys it named
    /// (each deleted, or already gone).
    pub fn clear(&self, purge: bool) -> Result<u64, ConnectorError> {
        let mut doomed: Vec<String> = Vec::new();
        for spec in keys::CONNECTION_KEYS {
            if purge || !spec.class.kept_on_disconnect() {
                doomed.extend(self.expand(spec)?);
            }
        }
        if purge {
            doomed.extend(self.owned_keys()?);
            doomed.extend(self.guard_keys()?);
        }
        doomed.sort();
        doomed.dedup();
        for chunk in doomed.chunks(256) {
            self.kv.delete_many(chunk).map_err(storage_error)?;
        }
        let store = Store::new(self.kv);
        if purge {
            store.set_outbox_active(&self.id, false)?;
            store.unregister(&self.id)?;
        } else {
            store.register(&self.id, Some(false))?;
        }
        Ok(doomed.len() as u64)
    }

    /// The keys of one row of the key table this connection may hold, found without
    /// listing the bucket (rows found through the owned-key and expiry indexes answer
    /// nothing here: see [`Self::owned_keys`] and [`Self::guard_keys`]).
    fn expand(&self, spec: &keys::KeySpec) -> Result<Vec<String>, ConnectorError> {
        use keys::Found;
        let name = |part: &str, value: &str| self.key(&spec.pattern.replace(part, value));
        Ok(match spec.found {
            Found::Fixed if !spec.pattern.contains('<') => vec![self.key(spec.pattern)],
            Found::Fixed | Found::OwnedIndex | Found::ExpiryIndex => Vec::new(),
            Found::PerWebhookEvent => WEBHOOK_EVENTS
                .iter()
                .map(|event| name("<event>", &part(event)))
                .collect(),
            Found::PerTrigger if spec.pattern.ends_with("/head") => keys::TRIGGER_LOGS
                .iter()
                .map(|kind| name("<kind>", kind))
                .collect(),
            Found::PerTrigger => {
                let mut all = Vec::new();
                for kind in keys::TRIGGER_LOGS {
                    all.extend(self.log_entries(&format!("trigger/{kind}"), keys::TRIGGER_KEEP)?);
                }
                all
            }
            Found::LogEntries { log, keep } => self.log_entries(log, keep)?,
            Found::Ring { log, size } => (0..size)
                .map(|slot| self.key(&format!("{log}/s/{slot}")))
                .collect(),
            Found::TokenList(list) => self
                .index(list)?
                .iter()
                .map(|token| name("<token>", &part(token)))
                .collect(),
        })
    }

    /// The keys of a capped log's entries, from its head back as many as it keeps.
    fn log_entries(&self, log: &str, keep: u64) -> Result<Vec<String>, ConnectorError> {
        let head = log_head(self.get_raw(&format!("{log}/head"))?.as_deref());
        Ok((head.saturating_sub(keep) + 1..=head)
            .map(|seq| self.key(&format!("{log}/{seq}")))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::fake::{FakeKv, KvOp};

    fn record(at: UnixMillis, state: DeliveryState) -> DeliveryRecord {
        DeliveryRecord {
            event: "candidateStageChange".into(),
            handled_at: at,
            state,
            detail: String::new(),
            claim: String::new(),
        }
    }

    #[test]
    fn connection_ids_are_short_and_plain() {
        assert!(ConnectionId::parse("acme_corp-1").is_ok());
        for bad in ["", "a/b", "a b", "ü", &"x".repeat(65)] {
            assert!(ConnectionId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn connections_do_not_share_keys() {
        let kv = FakeKv::default();
        let store = Store::new(&kv);
        let a = store.connection(&ConnectionId::parse("a").unwrap());
        let b = store.connection(&ConnectionId::parse("b").unwrap());
        a.link("cand", &OpportunityId("opp/../x".into())).unwrap();
        assert_eq!(
            b.linked_candidate(&OpportunityId("opp/../x".into()))
                .unwrap(),
            None
        );
        assert!(kv.0.borrow().keys().all(|k| k.starts_with("conn/a/")));
        assert!(kv
            .0
            .borrow()
            .contains_key("conn/a/link/opportunity/opp%2F..%2Fx"));
    }

    #[test]
    fn a_processing_claim_is_taken_over_after_its_lease() {
        let kv = FakeKv::default();
        let conn = Store::new(&kv).connection(&ConnectionId::parse("a").unwrap());
        let first = record(1_000, DeliveryState::Processing);
        assert_eq!(
            conn.claim_delivery("t", &first, 60_000, 86_400_000)
                .unwrap(),
            Claim::Claimed
        );
        let soon = record(30_000, DeliveryState::Processing);
        assert!(matches!(
            conn.claim_delivery("t", &soon, 60_000, 86_400_000).unwrap(),
            Claim::Duplicate(_)
        ));
        let later = record(61_000, DeliveryState::Processing);
        assert_eq!(
            conn.claim_delivery("t", &later, 60_000, 86_400_000)
                .unwrap(),
            Claim::Claimed
        );
        conn.set_many(vec![conn
            .delivery_record_write("t", &record(61_500, DeliveryState::Forwarded), None)
            .unwrap()])
            .unwrap();
        let much_later = record(999_000, DeliveryState::Processing);
        assert!(matches!(
            conn.claim_delivery("t", &much_later, 60_000, 86_400_000)
                .unwrap(),
            Claim::Duplicate(DeliveryRecord {
                state: DeliveryState::Forwarded,
                ..
            })
        ));
    }

    #[test]
    fn an_oauth_state_is_used_once() {
        let kv = FakeKv::default();
        let store = Store::new(&kv);
        let state = OAuthState {
            environment: None,
            portal_session: None,
            connection: ConnectionId::parse("a").unwrap(),
            expires_at: 10,
            used: false,
            used_by: None,
        };
        store.put_oauth_state("n1", &state).unwrap();
        assert_eq!(
            store
                .take_oauth_state("n1", "u1")
                .unwrap()
                .unwrap()
                .connection
                .as_str(),
            "a"
        );
        assert_eq!(store.take_oauth_state("n1", "u1").unwrap(), None);
        assert_eq!(store.take_oauth_state("unknown", "u3").unwrap(), None);
    }

    fn activity(detail: &str) -> Activity {
        Activity {
            at: 1,
            source: "lever".into(),
            what: "candidateStageChange".into(),
            outcome: "forwarded".into(),
            detail: detail.into(),
        }
    }

    /// The activity log's details, newest first.
    fn details(conn: &ConnStore<'_>) -> Vec<String> {
        let entries = conn.recent_activity(10).unwrap();
        entries.into_iter().map(|a| a.detail).collect()
    }

    fn audit_entry(url: &str) -> crate::audit::AuditEntry {
        crate::audit::AuditEntry {
            at: 1,
            service: "partner".into(),
            method: "POST".into(),
            url: url.into(),
            perform_as: None,
            status: Some(204),
            error: None,
            cause: "test".into(),
        }
    }

    #[test]
    fn one_increment_and_one_write_append_to_both_logs_with_the_outcome() {
        let kv = FakeKv::default();
        let conn = Store::new(&kv).connection(&ConnectionId::parse("a").unwrap());
        conn.append_activity(&activity("first")).unwrap();
        kv.take_ops();
        conn.append_logs(
            Some(&activity("second")),
            &[audit_entry("u1"), audit_entry("u2")],
            vec![("conn/a/other".into(), b"x".to_vec())],
        )
        .unwrap();
        let ops: Vec<&str> = kv.take_ops().iter().map(|op| op.op).collect();
        assert_eq!(ops, ["increment", "set-many"]);
        assert_eq!(details(&conn), ["second", "first"]);
        let urls: Vec<String> = conn
            .recent_audit(10)
            .unwrap()
            .into_iter()
            .map(|e| e.url)
            .collect();
        assert_eq!(urls, ["u2", "u1"]);
        assert_eq!(kv.get("conn/a/other").unwrap().unwrap(), b"x");
    }

    #[test]
    fn a_ring_keeps_its_slots_and_shows_only_current_entries() {
        let kv = FakeKv::default();
        let conn = Store::new(&kv).connection(&ConnectionId::parse("a").unwrap());
        for i in 0..300 {
            conn.append_activity(&activity(&format!("n{i}"))).unwrap();
        }
        let slots =
            kv.0.borrow()
                .keys()
                .filter(|k| k.starts_with("conn/a/activity/s/"))
                .count() as u64;
        assert_eq!(slots, keys::ACTIVITY_RING);
        let shown = conn.recent_activity(500).unwrap();
        assert_eq!(shown.len() as u64, keys::ACTIVITY_KEEP);
        assert_eq!(shown[0].detail, "n299");
        assert_eq!(shown[99].detail, "n200");
        // A writer numbered 301 that has not written yet leaves its slot holding number
        // 173: that old entry is not shown as the newest.
        kv.increment("conn/a/logs/n", 1).unwrap();
        let shown = conn.recent_activity(2).unwrap();
        assert_eq!(shown.len(), 1);
        assert_eq!(shown[0].detail, "n299");
    }

    #[test]
    fn the_activity_count_wraps_without_losing_the_newest_entries() {
        let kv = FakeKv::default();
        let conn = Store::new(&kv).connection(&ConnectionId::parse("a").unwrap());
        kv.increment("conn/a/logs/n", (1 << ACTIVITY_BITS) - 2)
            .unwrap();
        for i in 0..4 {
            conn.append_activity(&activity(&format!("n{i}"))).unwrap();
        }
        conn.append_audit(&audit_entry("u")).unwrap();
        assert_eq!(details(&conn), ["n3", "n2", "n1", "n0"]);
        assert_eq!(conn.recent_audit(5).unwrap().len(), 1);
    }

    #[test]
    fn a_rate_token_costs_a_read_and_an_increment_once_the_base_is_written() {
        const LIMIT: crate::config::RateLimit = crate::config::RateLimit {
            per_sec: 1.0,
            burst: 5.0,
        };
        let kv = FakeKv::default();
        let conn = Store::new(&kv).connection(&ConnectionId::parse("a").unwrap());
        let random = crate::io::fake::FakeRandom::default();
        for _ in 0..5 {
            assert_eq!(
                conn.take_rate_token(1_000, LIMIT, 0.0, &random).unwrap(),
                None
            );
        }
        let ops: Vec<&str> = kv.take_ops().iter().map(|op| op.op).collect();
        // The first writes the base; the next four read it and take a ticket.
        assert_eq!(ops.len(), 3 + 4 * 2);
        assert!(ops[3..].iter().all(|op| *op == "get" || *op == "increment"));
        // The sixth waits a second and gives its ticket back.
        assert_eq!(
            conn.take_rate_token(1_000, LIMIT, 0.0, &random).unwrap(),
            Some(1_000)
        );
        assert_eq!(kv.increment("conn/a/rate/n", 0).unwrap(), 5);
        // Two instances sharing the counter share the bucket.
        let other = Store::new(&kv).connection(&ConnectionId::parse("a").unwrap());
        assert_eq!(
            other.take_rate_token(2_000, LIMIT, 0.0, &random).unwrap(),
            None
        );
        assert!(conn
            .take_rate_token(2_000, LIMIT, 0.0, &random)
            .unwrap()
            .is_some());
    }

    #[test]
    fn a_linked_opportunity_has_its_claim_key_before_any_report() {
        let kv = FakeKv::default();
        let conn = Store::new(&kv).connection(&ConnectionId::parse("a").unwrap());
        conn.link("cand-1", &OpportunityId("o1".into())).unwrap();
        let raw = kv.get("conn/a/sync/reporting/o1").unwrap();
        assert_eq!(Reporting::read(raw.as_deref()), Reporting::default());
        assert!(raw.is_some());
        // A claim is then a swap over a present value.
        kv.take_ops();
        conn.claim_opportunity(&OpportunityId("o1".into()), "t", 1, 2, "n")
            .unwrap();
        let swapped: Vec<KvOp> = kv
            .take_ops()
            .into_iter()
            .filter(|op| op.op == "swap")
            .collect();
        assert_eq!(swapped.len(), 1);
    }

    #[test]
    fn an_opportunity_claim_remembers_its_recent_deliveries_within_bounds() {
        let kv = FakeKv::default();
        let conn = Store::new(&kv).connection(&ConnectionId::parse("a").unwrap());
        let opp = OpportunityId("o1".into());
        // A claim as 0.2 wrote it, lapsed.
        kv.set("conn/a/sync/reporting/o1", b"500:old").unwrap();
        for i in 0..(REPORTING_RECENT as u64 + 5) {
            let at = 1_000 + i;
            let token = format!("t{i}");
            let OpportunityClaim::Claimed(held) = conn
                .claim_opportunity(&opp, &token, at, at + 60, "n")
                .unwrap()
            else {
                panic!("claimed")
            };
            // Held: its own replay is in progress, another delivery must wait.
            assert_eq!(
                conn.claim_opportunity(&opp, &token, at, at + 60, "m")
                    .unwrap(),
                OpportunityClaim::Handled(DeliveryState::Processing)
            );
            assert_eq!(
                conn.claim_opportunity(&opp, "other", at, at + 60, "m")
                    .unwrap(),
                OpportunityClaim::HeldByOther
            );
            let handled = Handled {
                token,
                at,
                state: DeliveryState::Forwarded,
            };
            conn.set_many(vec![conn
                .release_opportunity_write(&opp, &held, Some(handled), 0)
                .unwrap()])
                .unwrap();
        }
        let kept = Reporting::read(kv.get("conn/a/sync/reporting/o1").unwrap().as_deref());
        assert_eq!(kept.recent.len(), REPORTING_RECENT);
        assert_eq!(kept.until, 0);
        // The newest are remembered: a replay is a duplicate.
        let last = format!("t{}", REPORTING_RECENT + 4);
        assert_eq!(
            conn.claim_opportunity(&opp, &last, 9_000, 9_060, "n")
                .unwrap(),
            OpportunityClaim::Handled(DeliveryState::Forwarded)
        );
        // Past the retention they are forgotten at the next release.
        let OpportunityClaim::Claimed(held) = conn
            .claim_opportunity(&opp, "new", 9_000, 9_060, "n")
            .unwrap()
        else {
            panic!("claimed")
        };
        let (_, value) = conn
            .release_opportunity_write(&opp, &held, None, 5_000)
            .unwrap();
        assert!(Reporting::read(Some(&value)).recent.is_empty());
    }

    #[test]
    fn a_log_written_by_0_2_is_shown_after_the_ring() {
        let kv = FakeKv::default();
        let conn = Store::new(&kv).connection(&ConnectionId::parse("a").unwrap());
        kv.set("conn/a/activity/head", b"7:abc").unwrap();
        kv.set("conn/a/activity/7", &encode(&activity("old")).unwrap())
            .unwrap();
        kv.set("conn/a/activity/6", &encode(&activity("older")).unwrap())
            .unwrap();
        conn.append_activity(&activity("new")).unwrap();
        assert_eq!(details(&conn), ["new", "old", "older"]);
        assert_eq!(conn.recent_activity(2).unwrap().len(), 2);
    }

    /// A store that refuses to be listed: what runs on it never walks the bucket.
    struct Unlisted<'a>(&'a FakeKv);

    impl Kv for Unlisted<'_> {
        fn get(&self, key: &str) -> Result<Option<Vec<u8>>, crate::io::BackendError> {
            self.0.get(key)
        }
        fn set(&self, key: &str, value: &[u8]) -> Result<(), crate::io::BackendError> {
            self.0.set(key, value)
        }
        fn delete(&self, key: &str) -> Result<(), crate::io::BackendError> {
            self.0.delete(key)
        }
        fn compare_and_swap(
            &self,
            key: &str,
            expected: Option<&[u8]>,
            new: &[u8],
        ) -> Result<bool, crate::io::BackendError> {
            self.0.compare_and_swap(key, expected, new)
        }
        fn list_keys(
            &self,
            _cursor: Option<&str>,
        ) -> Result<(Vec<String>, Option<String>), crate::io::BackendError> {
            panic!("the bucket was listed")
        }
    }

    /// The table's single keys that hold a plain value (not a log head or an index).
    fn plain_fixed() -> impl Iterator<Item = &'static keys::KeySpec> {
        use keys::Class::*;
        keys::CONNECTION_KEYS.iter().filter(|spec| {
            spec.found == keys::Found::Fixed
                && !spec.pattern.contains('<')
                && matches!(spec.class, Credential | Cache | Setting | Cursor)
        })
    }

    /// Writes every fixed key of the table, one webhook, a log entry each, an outbox item,
    /// a link, an upload and a delivery record for `conn`, through the store's own writers
    /// where the key is indexed.
    fn fill(conn: &ConnStore<'_>, kv: &dyn Kv) {
        for spec in plain_fixed() {
            kv.set(&conn.key(spec.pattern), b"1").unwrap();
        }
        kv.set(&conn.key("webhook/candidateStageChange"), b"{}")
            .unwrap();
        kv.set(&conn.key("webhook-seen/candidateStageChange"), b"1")
            .unwrap();
        let random = crate::io::fake::FakeRandom::default();
        conn.append_activity(&activity("a")).unwrap();
        conn.append_audit(&audit_entry("u")).unwrap();
        // The audit trail as 0.2 wrote it.
        kv.set(&conn.key("audit/head"), b"3:abc").unwrap();
        kv.set(&conn.key("audit/3"), &encode(&audit_entry("old")).unwrap())
            .unwrap();
        conn.append_trigger("candidate-created", &activity("t"), 1_000, &random)
            .unwrap();
        conn.put_outbox(&OutboxItem {
            token: "tok".into(),
            event: "candidateStageChange".into(),
            body: "{}".into(),
            attempts: 1,
            accepted_at: 1,
            next_attempt_at: 1,
            last_error: String::new(),
            lease_until: 0,
            holder: String::new(),
        })
        .unwrap();
        conn.link("cand", &OpportunityId("opp".into())).unwrap();
        conn.set_reported_stage(&OpportunityId("opp".into()), &StageId("s".into()))
            .unwrap();
        conn.swap_upload_intent("cand-2", None, b"{}").unwrap();
        conn.set_posting_seen("post", 5, true).unwrap();
        let claim = record(1_000, DeliveryState::Processing);
        conn.claim_delivery("tok", &claim, 60_000, 86_400_000)
            .unwrap();
        conn.mark_trigger_seen("evt", 86_400_000).unwrap();
    }

    #[test]
    fn a_disconnect_keeps_what_the_key_table_says_and_a_purge_keeps_nothing() {
        let kv = FakeKv::default();
        let unlisted = Unlisted(&kv);
        let store = Store::new(&unlisted);
        let a = store.connection(&ConnectionId::parse("a").unwrap());
        let b = store.connection(&ConnectionId::parse("b").unwrap());
        fill(&a, &unlisted);
        fill(&b, &unlisted);
        let b_before: Vec<(String, Vec<u8>)> =
            kv.0.borrow()
                .iter()
                .filter(|(k, _)| k.starts_with("conn/b/"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();

        a.clear(false).unwrap();
        for spec in plain_fixed() {
            let present = kv.get(&a.key(spec.pattern)).unwrap().is_some();
            assert_eq!(
                present,
                spec.class.kept_on_disconnect(),
                "{} ({:?})",
                spec.pattern,
                spec.class
            );
        }
        for kept in [
            "logs/n",
            "activity/s/1",
            "audit/s/1",
            "audit/head",
            "audit/3",
            "trigger/candidate-created/1",
            "outbox-index",
        ] {
            assert!(kv.get(&a.key(kept)).unwrap().is_some(), "{kept}");
        }
        // Every setting survives (upload-tags, rejection-reason and triggers among them).
        for setting in ["upload-tags", "rejection-reason", "triggers", "stage-map"] {
            assert!(kv.get(&a.key(setting)).unwrap().is_some(), "{setting}");
        }
        assert!(kv
            .get(&a.key("webhook/candidateStageChange"))
            .unwrap()
            .is_none());
        assert!(kv.get(&a.key("link/opportunity/opp")).unwrap().is_some());
        assert!(kv.get(&a.key("delivery/tok")).unwrap().is_some());
        assert!(kv.get(&a.key("outbox/tok")).unwrap().is_some());
        assert!(store
            .connections()
            .unwrap()
            .iter()
            .all(|c| c.as_str() != "a"));

        a.clear(true).unwrap();
        let left: Vec<String> =
            kv.0.borrow()
                .keys()
                .filter(|k| k.starts_with("conn/a/"))
                .cloned()
                .collect();
        assert!(left.is_empty(), "{left:?}");
        assert!(!store
            .registered()
            .unwrap()
            .keys()
            .any(|c| c.as_str() == "a"));
        assert_eq!(
            store.outbox_active().unwrap(),
            [ConnectionId::parse("b").unwrap()]
        );
        let b_after: Vec<(String, Vec<u8>)> =
            kv.0.borrow()
                .iter()
                .filter(|(k, _)| k.starts_with("conn/b/"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
        assert_eq!(b_before, b_after);
    }
}
