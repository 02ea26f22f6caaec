//! The key table: every key the connector writes, what it holds, what bounds how many of it
//! exist, and how it is found again without listing the bucket. A disconnect, a purge and
//! the README's table are all read from here; nothing else lists the layout a second time.

/// What a key is for; it decides what a disconnect keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Credentials and what only they make sense with (webhooks and their signature
    /// tokens, the refresh lock): dropped by every disconnect.
    Credential,
    /// Read from Lever or kept for speed, reread when missing: dropped by every disconnect.
    Cache,
    /// A choice the partner or the admin made: kept unless purged.
    Setting,
    /// What the user's work made (links, upload intents, what was reported): kept unless
    /// purged.
    Owned,
    /// A capped log (activity, audit, trigger events): kept unless purged.
    Log,
    /// Accepted work (the outbox, the dead letters): kept unless purged, so nothing
    /// accepted is lost by a disconnect.
    Work,
    /// A guard with a lifetime (replay guards, single-use links, sessions): removed by
    /// the sweep once it has expired, kept by a disconnect, dropped by a purge.
    Guard,
    /// A cursor of a periodic read: kept unless purged.
    Cursor,
    /// An index that finds the keys above without listing the bucket.
    Index,
}

impl Class {
    /// Whether a disconnect without purge keeps keys of this class.
    pub fn kept_on_disconnect(self) -> bool {
        !matches!(self, Class::Credential | Class::Cache)
    }
}

/// How the keys of one row are found without listing the bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// The pattern is the key.
    Fixed,
    /// One per event in [`super::WEBHOOK_EVENTS`] (`<event>` in the pattern).
    PerWebhookEvent,
    /// One per trigger in [`TRIGGER_LOGS`] (`<kind>` in the pattern).
    PerTrigger,
    /// The entries of a capped log (`<log>/<seq>`), from its head back as many as it keeps.
    LogEntries {
        /// The log (`audit`, `activity`, `trigger/<kind>`).
        log: &'static str,
        /// How many it keeps.
        keep: u64,
    },
    /// Every slot of a ring log (`<log>/s/<slot>`, `<slot>` below `size`).
    Ring {
        /// The log (`audit`, `activity`).
        log: &'static str,
        /// How many slots it has.
        size: u64,
    },
    /// Named by the JSON list of tokens under this key (`<token>` in the pattern).
    TokenList(&'static str),
    /// Recorded in the connection's owned-key index (`keys/...`) when first written.
    OwnedIndex,
    /// Recorded in the connection's expiry index (`expiry/...`) with its lifetime.
    ExpiryIndex,
}

/// One row of the key table.
#[derive(Debug, Clone, Copy)]
pub struct KeySpec {
    /// The key below `conn/<c>/` (for [`CONNECTION_KEYS`]) or the bucket's root (for
    /// [`GLOBAL_KEYS`]); `<...>` marks a part.
    pub pattern: &'static str,
    /// What it is for.
    pub class: Class,
    /// How its keys are found again.
    pub found: Found,
    /// What it holds.
    pub holds: &'static str,
    /// What bounds how many exist.
    pub bound: &'static str,
}

/// The triggers whose events are logged (`trigger/<kind>/...`).
pub const TRIGGER_LOGS: [&str; 4] = [
    "candidate-created",
    "candidate-updated",
    "posting-created",
    "posting-updated",
];

/// Events kept per trigger log.
pub const TRIGGER_KEEP: u64 = 1_000;
/// Audit entries kept per connection.
pub const AUDIT_KEEP: u64 = 500;
/// Activity entries kept per connection.
pub const ACTIVITY_KEEP: u64 = 100;
/// Slots of the audit ring (a power of two, at least [`AUDIT_KEEP`]).
pub const AUDIT_RING: u64 = 512;
/// Slots of the activity ring (a power of two, at least [`ACTIVITY_KEEP`]).
pub const ACTIVITY_RING: u64 = 128;

const fn row(
    pattern: &'static str,
    class: Class,
    found: Found,
    holds: &'static str,
    bound: &'static str,
) -> KeySpec {
    KeySpec {
        pattern,
        class,
        found,
        holds,
        bound,
    }
}

use Class::*;
use Found::*;

/// Every key under `conn/<c>/`.
pub const CONNECTION_KEYS: &[KeySpec] = &[
    row("auth", Credential, Fixed, "API key or OAuth tokens (each secret sealed), account id, scopes", "one"),
    row("refresh-lock", Credential, Fixed, "the one instance refreshing the OAuth token (a lease)", "one"),
    row("webhook/<event>", Credential, PerWebhookEvent, "our Lever webhook for an event (signature token sealed)", "one per subscribed event (7)"),
    row("webhook-seen/<event>", Credential, PerWebhookEvent, "Unix ms of the event's last verified delivery, written with its outcome", "one per subscribed event (7)"),
    row("rate/n", Cache, Fixed, "the ticket counter of Lever calls (`atomics.increment`)", "one"),
    row("rate/base", Cache, Fixed, "when the bucket was last full, the ticket taken before then, and the rate", "one"),
    row("rate", Cache, Fixed, "written by 0.2: the token bucket (no longer read; a disconnect drops it)", "one"),
    row("cache/stages", Cache, Fixed, "Lever's stages as last read, with when", "one"),
    row("posting-cursor", Cache, Fixed, "the postings poll's cursor (Unix ms of the newest `updatedAt` read)", "one"),
    row("triggers", Setting, Fixed, "the triggers the platform enabled", "one"),
    row("perform-as", Setting, Fixed, "the Lever user writes are attributed to", "one"),
    row("environment", Setting, Fixed, "the Lever environment the connection uses (production or sandbox; none: the deployment's)", "one"),
    row("stage-map", Setting, Fixed, "Lever stage id → partner stage", "one"),
    row("upload-stage", Setting, Fixed, "the Lever stage uploads go to", "one"),
    row("roles", Setting, Fixed, "partner role id → Lever posting id", "one"),
    row("upload-tags", Setting, Fixed, "tags every upload gets", "one"),
    row("interview-feedback", Setting, Fixed, "the connection opted in to interview feedback in its interview events", "one"),
    row("rejection-reason", Setting, Fixed, "the archive reason partner rejections use", "one"),
    row("stage-names", Setting, Fixed, "mapped Lever stage id → its name when mapped", "one"),
    row("sync/cursor", Cursor, Fixed, "the reconciliation cursor (Unix ms of the newest `updatedAt` read)", "one"),
    row("trigger/<kind>/head", Log, PerTrigger, "`<seq>:<nonce>`: the newest event's sequence number", "one per trigger (4)"),
    row("trigger/<kind>/<seq>", Log, PerTrigger, "a trigger event", "the last 1,000 per trigger"),
    row("logs/n", Log, Fixed, "how many activity (low 24 bits) and audit entries (the bits above) were appended: one `increment` numbers both", "one"),
    row("audit/s/<slot>", Log, Ring { log: "audit", size: AUDIT_RING }, "a write to Lever or the partner, with its number", "512 slots (the last 500 are shown)"),
    row("activity/s/<slot>", Log, Ring { log: "activity", size: ACTIVITY_RING }, "a delivery or partner call and its outcome, with its number", "128 slots (the last 100 are shown)"),
    row("audit/head", Log, Fixed, "written by 0.2: `<seq>:<nonce>`, the newest audit entry's sequence number", "one (shown until the ring holds 500)"),
    row("audit/<seq>", Log, LogEntries { log: "audit", keep: AUDIT_KEEP }, "written by 0.2: a write to Lever or the partner", "the last 500 written by 0.2"),
    row("activity/head", Log, Fixed, "written by 0.2: `<seq>:<nonce>`, the newest activity entry's sequence number", "one (shown until the ring holds 100)"),
    row("activity/<seq>", Log, LogEntries { log: "activity", keep: ACTIVITY_KEEP }, "written by 0.2: a delivery or partner call and its outcome", "the last 100 written by 0.2"),
    row("link/opportunity/<opportunity>", Owned, OwnedIndex, "the linked partner candidate", "one per linked opportunity"),
    row("link/partner/<candidate>", Owned, OwnedIndex, "the linked opportunity", "one per linked partner candidate"),
    row("upload/<candidate>", Owned, OwnedIndex, "an upload claimed, uncertain or done", "one per submitted partner candidate"),
    row("sync/reported-stage/<opportunity>", Owned, OwnedIndex, "the Lever stage last reported to the partner", "one per linked opportunity"),
    row("sync/reported-archive/<opportunity>", Owned, OwnedIndex, "the archive state last reported", "one per linked opportunity"),
    row("sync/notes/<opportunity>", Owned, OwnedIndex, "the partner's notes added to the opportunity in Lever, by the partner's note id (their replay guard)", "one per linked opportunity; its newest 64 partner notes"),
    row("sync/reporting/<opportunity>", Owned, OwnedIndex, "who holds the right to report a change (a stage-change delivery claims its opportunity here), and the stage-change deliveries handled for it (their replay guard)", "one per linked opportunity; the last 32 deliveries of the retention period"),
    row("posting-seen/<posting>", Owned, OwnedIndex, "the `updatedAt` last delivered for a posting", "one per posting the polls have seen"),
    row("keys/n", Index, Fixed, "how many owned-key index entries were written", "one"),
    row("keys/<i>", Index, Fixed, "the owned keys one link, upload or new posting wrote", "one per link, upload or posting seen"),
    row("outbox/<token>", Work, TokenList("outbox-index"), "an accepted delivery still to be delivered", "accepted deliveries whose work failed, each until done or out of attempts (`outbox_max_attempts`)"),
    row("outbox-index", Work, Fixed, "the tokens in the outbox", "one"),
    row("dead/<token>", Work, TokenList("dead-index"), "a delivery that ran out of attempts, with its last error", "one per dead letter, until replayed or purged"),
    row("dead-index", Work, Fixed, "the tokens in the dead letters", "one"),
    row("delivery/<token>", Guard, ExpiryIndex, "a delivery being handled or handled (the replay guard), except stage changes of linked opportunities", "deliveries of the last `delivery_retention_secs` (24 h)"),
    row("trigger-seen/<event id>", Guard, ExpiryIndex, "a trigger event delivered", "trigger events of the last `delivery_retention_secs`"),
    row("portal/link/<nonce>", Guard, ExpiryIndex, "a connect-portal link (single use)", "links issued in the last hour (their longest life)"),
    row("portal/session/<id>", Guard, ExpiryIndex, "a connect-portal session", "sessions started in the last hour"),
    row("expiry", Index, Fixed, "the expiry buckets holding entries, and how far each was swept", "one"),
    row("expiry/<bucket>/n", Index, Fixed, "how many entries a bucket has", "one per 10-minute bucket in the retention window (145 at 24 h)"),
    row("expiry/<bucket>/<i>", Index, Fixed, "a guard's key (or a list of them) expiring in that bucket", "one per live guard"),
];

/// Every key outside `conn/`.
pub const GLOBAL_KEYS: &[KeySpec] = &[
    row(
        "layout",
        Index,
        Fixed,
        "the store's layout version (`2`)",
        "one",
    ),
    row(
        "layout/upgrade-lease",
        Index,
        Fixed,
        "the one instance upgrading a store written by 0.2.0",
        "one",
    ),
    row(
        "registry/<slot>",
        Index,
        Fixed,
        "connection id → whether it has credentials, for the connections hashed to the slot",
        "16 slots; one entry per connection with state",
    ),
    row(
        "oauth/state/<nonce>",
        Guard,
        ExpiryIndex,
        "which connection an OAuth round trip is for (single use)",
        "OAuth starts of the last 10 minutes",
    ),
    row(
        "outbox/active",
        Index,
        Fixed,
        "the connections whose outbox holds something",
        "one; one entry per such connection",
    ),
    row(
        "sweep/<bucket>",
        Index,
        Fixed,
        "the connections with guards expiring in a 10-minute bucket",
        "one per bucket in the retention window",
    ),
    row(
        "sweep/cursor",
        Index,
        Fixed,
        "the oldest bucket not yet swept",
        "one",
    ),
    row(
        "sweep/lease",
        Index,
        Fixed,
        "the one instance sweeping",
        "one",
    ),
];

impl Class {
    /// Its name in the README's key table.
    pub fn name(self) -> &'static str {
        match self {
            Class::Credential => "credential",
            Class::Cache => "cache",
            Class::Setting => "setting",
            Class::Owned => "owned",
            Class::Log => "log",
            Class::Work => "work",
            Class::Guard => "guard",
            Class::Cursor => "cursor",
            Class::Index => "index",
        }
    }
}

/// The fixed part (before the first `<`) of every connection key found through `found`:
/// e.g. `delivery/` for the guards of [`Found::ExpiryIndex`].
pub fn prefixes(found: Found) -> impl Iterator<Item = &'static str> {
    CONNECTION_KEYS
        .iter()
        .filter(move |spec| spec.found == found)
        .map(|spec| spec.pattern.split('<').next().unwrap_or(spec.pattern))
}

/// The key table as the README shows it (a test keeps the two equal).
pub fn markdown() -> String {
    let mut out = String::from("| key | class | holds | how many |\n|---|---|---|---|\n");
    let rows = CONNECTION_KEYS
        .iter()
        .map(|spec| (format!("conn/<c>/{}", spec.pattern), spec))
        .chain(
            GLOBAL_KEYS
                .iter()
                .map(|spec| (spec.pattern.to_string(), spec)),
        );
    for (key, spec) in rows {
        out.push_str(&format!(
            "| `{key}` | {} | {} | {} |\n",
            spec.class.name(),
            spec.holds,
            spec.bound
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_shows_the_key_table() {
        let readme = include_str!("../../../README.md");
        let table = markdown();
        assert!(
            readme.contains(&table),
            "README.md's key table differs from store/keys.rs; it should read:\n{table}"
        );
    }

    #[test]
    fn every_pattern_is_listed_once() {
        let mut seen = std::collections::BTreeSet::new();
        for spec in CONNECTION_KEYS.iter().chain(GLOBAL_KEYS) {
            assert!(seen.insert(spec.pattern), "{} twice", spec.pattern);
            assert!(!spec.bound.is_empty() && !spec.holds.is_empty());
        }
    }

    #[test]
    fn the_trigger_logs_are_the_triggers() {
        let kinds = [
            crate::triggers::Kind::CandidateCreated,
            crate::triggers::Kind::CandidateUpdated,
            crate::triggers::Kind::PostingCreated,
            crate::triggers::Kind::PostingUpdated,
        ];
        assert_eq!(kinds.map(|k| k.as_str()), TRIGGER_LOGS);
    }
}
