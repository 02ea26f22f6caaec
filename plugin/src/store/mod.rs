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

mod records;
pub use records::*;

// The connection store's accessors, by job.
mod credentials;
mod deliveries;
mod disconnect;
mod links;
mod logs;
mod outbox;
mod portal;
mod settings;
mod triggers;
mod uploads;
mod webhooks;

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

fn notes_suffix(opportunity: &OpportunityId) -> String {
    format!("sync/notes/{}", part(opportunity.as_str()))
}

fn reporting_suffix(opportunity: &OpportunityId) -> String {
    format!("sync/reporting/{}", part(opportunity.as_str()))
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
}

#[cfg(test)]
mod tests;
