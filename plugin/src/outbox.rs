//! The outbox: nothing accepted is lost. A verified Lever delivery whose work fails in a way
//! a retry may fix (Lever or the partner down or rate limiting, credentials refused) is
//! written to its connection's outbox before Lever gets its 2xx, and
//! [`tick`] retries it with exponential backoff and full jitter (never sooner than a
//! `Retry-After`), each attempt holding a lease so two instances never work on one item at
//! once. After `outbox_max_attempts` attempts it moves to the dead letters with its last
//! error, where an admin lists and replays it.
//!
//! Effects stay exactly-once across attempts: the partner event of a change has a stable
//! `webhook-id` (derived from the change), and a change reported once is never reported
//! again (see [`crate::sync::stage::report_stage`]).

use serde::Serialize;

use crate::config;
use crate::error::ConnectorError;
use crate::io::{Env, UnixMillis};
use crate::lever::webhook;
use crate::store::{ConnStore, ConnectionId, DeliveryRecord, DeliveryState, OutboxItem, Store};
use crate::sync::stage::{self, Outcome};

/// The first retry waits up to this long; each next one up to twice as long.
pub const BASE_BACKOFF_MS: u64 = 2_000;
/// The longest wait between attempts unless `outbox_max_backoff_secs` says otherwise.
pub const MAX_BACKOFF_MS: u64 = 60 * 60 * 1000;

/// A delivery accepted into the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Queued {
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next one is due.
    pub next_attempt_at: UnixMillis,
    /// Why the last one failed.
    pub last_error: String,
    /// Whether that was the last attempt allowed (it is in the dead letters now).
    pub dead_lettered: bool,
}

/// What one [`tick`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TickReport {
    /// Items attempted.
    pub attempted: u32,
    /// Items whose work is done now.
    pub delivered: u32,
    /// Items that failed again and wait for their next attempt.
    pub rescheduled: u32,
    /// Items moved to the dead letters.
    pub dead_lettered: u32,
    /// Items not yet due, or held by another instance.
    pub waiting: u32,
    /// Expired guards (and their index entries) swept.
    pub swept: u32,
}

/// Whether a failed delivery is kept for retries (the rest are answered with their error):
/// everything a later attempt may fix.
pub fn keeps(error: &ConnectorError) -> bool {
    match error {
        ConnectorError::RateLimited { .. }
        | ConnectorError::Unauthorized(_)
        | ConnectorError::Upstream { .. }
        | ConnectorError::Conflict(_) => true,
        // A deployment missing configuration answers 503 naming the key (loud, and Lever
        // retries); bad event data can never succeed; a store fault cannot keep anything.
        ConnectorError::NotConfigured(_)
        | ConnectorError::InvalidInput(_)
        | ConnectorError::NotFound(_)
        | ConnectorError::TooLarge(_)
        | ConnectorError::Unsupported(_)
        | ConnectorError::Internal(_) => false,
    }
}

/// The wait before attempt `attempts + 1`: full jitter over `base · 2^(attempts-1)` (capped),
/// and never less than a `Retry-After` the service gave.
pub fn backoff_ms(env: &Env, attempts: u32, error: &ConnectorError) -> u64 {
    let cap = config::outbox_max_backoff_ms(env.config).unwrap_or(MAX_BACKOFF_MS);
    let ceiling = BASE_BACKOFF_MS
        .saturating_mul(1u64 << attempts.saturating_sub(1).min(30))
        .min(cap);
    let jitter = random_u64(env) % (ceiling + 1);
    let retry_after = match error {
        ConnectorError::RateLimited {
            retry_after_ms: Some(ms),
        } => *ms,
        _ => 0,
    };
    jitter.max(retry_after)
}

/// Writes a delivery whose first attempt failed with `error` to its connection's outbox
/// (or straight to the dead letters when one attempt is all it may have).
pub fn enqueue(
    env: &Env,
    connection: &ConnectionId,
    delivery: &webhook::Delivery,
    body: &[u8],
    claim: &DeliveryRecord,
    error: &ConnectorError,
) -> Result<Queued, ConnectorError> {
    let now = env.clock.now();
    let item = OutboxItem {
        token: delivery.token.clone(),
        event: delivery.event.clone(),
        body: String::from_utf8_lossy(body).into_owned(),
        attempts: 1,
        accepted_at: now,
        next_attempt_at: now.saturating_add(backoff_ms(env, 1, error)),
        last_error: error.to_string(),
        lease_until: 0,
        holder: String::new(),
    };
    let store = Store::new(env.kv).connection(connection);
    let mut queued = Queued {
        attempts: item.attempts,
        next_attempt_at: item.next_attempt_at,
        last_error: item.last_error.clone(),
        dead_lettered: false,
    };
    if item.attempts >= config::outbox_max_attempts(env.config)? {
        dead_letter(env, connection, &store, &item, claim, false)?;
        queued.dead_lettered = true;
        return Ok(queued);
    }
    store.put_outbox(&item)?;
    stage::finish(
        env,
        connection,
        &item.event,
        &item.token,
        claim,
        &Outcome::Queued(queued.clone()),
        "",
        false,
        stage::Along::default(),
    )?;
    Ok(queued)
}

/// Moves `item` to the dead letters and records the delivery so (`later`: by a later
/// attempt than the delivery's own).
fn dead_letter(
    env: &Env,
    connection: &ConnectionId,
    store: &ConnStore,
    item: &OutboxItem,
    claim: &DeliveryRecord,
    later: bool,
) -> Result<(), ConnectorError> {
    store.put_dead_letter(&OutboxItem {
        lease_until: 0,
        holder: String::new(),
        ..item.clone()
    })?;
    stage::finish(
        env,
        connection,
        &item.event,
        &item.token,
        claim,
        &Outcome::Queued(Queued {
            attempts: item.attempts,
            next_attempt_at: item.next_attempt_at,
            last_error: item.last_error.clone(),
            dead_lettered: true,
        }),
        "",
        later,
        stage::Along::default(),
    )
}

/// The most outbox attempts one tick makes.
pub const ATTEMPTS_PER_TICK: u32 = 50;
/// The most outbox attempts one tick makes for one connection, so one connection's backlog
/// never takes another's turn.
pub const ATTEMPTS_PER_CONNECTION: u32 = 10;
/// The most outbox items one tick reads for one connection.
pub const SCANNED_PER_CONNECTION: usize = 100;

/// One round of background work, bounded whatever the store holds: due outbox items of the
/// connections whose outbox holds any (at most [`ATTEMPTS_PER_TICK`], and
/// [`ATTEMPTS_PER_CONNECTION`] each, starting at a random connection), then the sweep of
/// expired guards (see [`crate::store::index`]). Upgrades a store written by 0.2.0 first.
pub fn tick(env: &Env) -> Result<TickReport, ConnectorError> {
    crate::store::upgrade::ensure_layout(env)?;
    let mut report = TickReport::default();
    let store = Store::new(env.kv);
    let active = store.outbox_active()?;
    let start = random_index(env, active.len());
    let mut budget = ATTEMPTS_PER_TICK;
    for i in 0..active.len() {
        if budget == 0 {
            break;
        }
        let Some(connection) = active.get((start + i) % active.len()) else {
            continue;
        };
        let mut own = budget.min(ATTEMPTS_PER_CONNECTION);
        let before = own;
        tick_connection(env, connection, &mut report, &mut own)?;
        budget -= before - own;
    }
    let swept = store.sweep(
        env.clock.now(),
        &hex::encode(env.random.bytes(8)),
        random_u64(env),
    )?;
    report.swept = swept.deleted;
    Ok(report)
}

/// Eight random bytes as a number.
fn random_u64(env: &Env) -> u64 {
    let mut bytes = [0u8; 8];
    for (slot, byte) in bytes.iter_mut().zip(env.random.bytes(8)) {
        *slot = byte;
    }
    u64::from_le_bytes(bytes)
}

/// A random index below `len` (0 for an empty range).
fn random_index(env: &Env, len: usize) -> usize {
    (random_u64(env) % (len.max(1) as u64)) as usize
}

/// Attempts due items of one connection, at most `budget` (what is left stays in it),
/// reading at most [`SCANNED_PER_CONNECTION`] items from a random place in its outbox.
pub fn tick_connection(
    env: &Env,
    connection: &ConnectionId,
    report: &mut TickReport,
    budget: &mut u32,
) -> Result<(), ConnectorError> {
    let store = Store::new(env.kv).connection(connection);
    let tokens = store.outbox_tokens()?;
    let start = random_index(env, tokens.len());
    for i in 0..tokens.len().min(SCANNED_PER_CONNECTION) {
        if *budget == 0 {
            break;
        }
        let Some(token) = tokens.get((start + i) % tokens.len()) else {
            continue;
        };
        let now = env.clock.now();
        let Some(seen) = store.outbox_item(token)? else {
            continue;
        };
        if seen.value.next_attempt_at > now || seen.value.lease_until > now {
            report.waiting += 1;
            continue;
        }
        let held = OutboxItem {
            lease_until: now.saturating_add(config::delivery_lease_ms(env.config)?),
            holder: hex::encode(env.random.bytes(8)),
            ..seen.value.clone()
        };
        if !store.swap_outbox(&seen.raw, &held)? {
            report.waiting += 1;
            continue;
        }
        *budget -= 1;
        report.attempted += 1;
        match attempt(env, connection, &store, held)? {
            Attempted::Delivered => report.delivered += 1,
            Attempted::Rescheduled => report.rescheduled += 1,
            Attempted::DeadLettered => report.dead_lettered += 1,
        }
    }
    Ok(())
}

enum Attempted {
    Delivered,
    Rescheduled,
    DeadLettered,
}

/// One attempt at a held item.
fn attempt(
    env: &Env,
    connection: &ConnectionId,
    store: &ConnStore,
    held: OutboxItem,
) -> Result<Attempted, ConnectorError> {
    let claim = DeliveryRecord {
        event: held.event.clone(),
        handled_at: env.clock.now(),
        state: DeliveryState::Queued,
        detail: String::new(),
        claim: held.holder.clone(),
    };
    let attempts = held.attempts + 1;
    let recorder = crate::audit::Recorder::holding(
        env,
        connection,
        format!(
            "outbox attempt {attempts} of Lever {} delivery {}",
            held.event, held.token
        ),
    );
    let result = webhook::parse_delivery(held.body.as_bytes())
        .and_then(|delivery| stage::perform(&recorder.env(), connection, &delivery));
    match result {
        Ok(outcome) => {
            stage::finish(
                env,
                connection,
                &held.event,
                &held.token,
                &claim,
                &outcome,
                &format!(" (attempt {attempts})"),
                true,
                stage::Along {
                    audit: recorder.take_held(),
                    writes: Vec::new(),
                },
            )?;
            store.remove_outbox(&held.token)?;
            Ok(Attempted::Delivered)
        }
        Err(error) => {
            let failed = OutboxItem {
                attempts,
                last_error: error.to_string(),
                ..held.clone()
            };
            if !keeps(&error) || attempts >= config::outbox_max_attempts(env.config)? {
                dead_letter(env, connection, store, &failed, &claim, true)?;
                return Ok(Attempted::DeadLettered);
            }
            let next = OutboxItem {
                next_attempt_at: env
                    .clock
                    .now()
                    .saturating_add(backoff_ms(env, attempts, &error)),
                lease_until: 0,
                holder: String::new(),
                ..failed
            };
            // Lost only if this attempt outlived its lease and another took the item over.
            let held_bytes = serde_json::to_vec(&held)
                .map_err(|e| ConnectorError::Internal(format!("encoding: {e}")))?;
            store.swap_outbox(&held_bytes, &next)?;
            Ok(Attempted::Rescheduled)
        }
    }
}

/// A connection's outbox: accepted deliveries waiting for their next attempt, oldest first.
pub fn pending(env: &Env, connection: &ConnectionId) -> Result<Vec<OutboxItem>, ConnectorError> {
    let store = Store::new(env.kv).connection(connection);
    let mut items = Vec::new();
    for token in store.outbox_tokens()? {
        if let Some(item) = store.outbox_item(&token)? {
            items.push(item.value);
        }
    }
    Ok(items)
}

/// A connection's dead letters, oldest first.
pub fn dead_letters(
    env: &Env,
    connection: &ConnectionId,
) -> Result<Vec<OutboxItem>, ConnectorError> {
    Store::new(env.kv).connection(connection).dead_letters()
}

/// Puts a dead letter back in the outbox with a fresh set of attempts and makes the first
/// at once; answers where the delivery stands afterwards.
pub fn replay(
    env: &Env,
    connection: &ConnectionId,
    token: &str,
) -> Result<DeliveryState, ConnectorError> {
    let store = Store::new(env.kv).connection(connection);
    let item = store.take_dead_letter(token)?.ok_or_else(|| {
        ConnectorError::NotFound(format!("no dead letter {token} on connection {connection}"))
    })?;
    let now = env.clock.now();
    let held = OutboxItem {
        attempts: 0,
        next_attempt_at: now,
        lease_until: now.saturating_add(config::delivery_lease_ms(env.config)?),
        holder: hex::encode(env.random.bytes(8)),
        ..item
    };
    store.put_outbox(&held)?;
    Ok(match attempt(env, connection, &store, held)? {
        Attempted::Delivered => DeliveryState::Forwarded,
        Attempted::Rescheduled => DeliveryState::Queued,
        Attempted::DeadLettered => DeliveryState::DeadLettered,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::fake::{FakeConfig, World};

    /// An outbox item of `connection` due now whose body can never succeed (so its attempt
    /// ends at once, in the dead letters: no upstream is needed to count attempts).
    fn due(world: &World, connection: &str, token: &str) {
        Store::new(&world.kv)
            .connection(&ConnectionId::parse(connection).unwrap())
            .put_outbox(&OutboxItem {
                token: token.into(),
                event: "candidateStageChange".into(),
                body: "not a delivery".into(),
                attempts: 1,
                accepted_at: 0,
                next_attempt_at: 0,
                last_error: String::new(),
                lease_until: 0,
                holder: String::new(),
            })
            .unwrap();
    }

    #[test]
    fn one_connections_backlog_never_takes_anothers_turn() {
        let world = World::new(FakeConfig::default(), 1_000);
        for i in 0..30 {
            due(&world, "big", &format!("t{i}"));
        }
        due(&world, "small", "only");
        let report = tick(&world.env()).unwrap();
        assert_eq!(report.attempted, ATTEMPTS_PER_CONNECTION + 1, "{report:?}");
        let dead = |c: &str| {
            Store::new(&world.kv)
                .connection(&ConnectionId::parse(c).unwrap())
                .dead_letters()
                .unwrap()
                .len()
        };
        assert_eq!(dead("small"), 1);
        assert_eq!(dead("big"), ATTEMPTS_PER_CONNECTION as usize);
        // The rest waits for the next ticks; once the outbox is empty, so is the active set.
        tick(&world.env()).unwrap();
        tick(&world.env()).unwrap();
        assert_eq!(dead("big"), 30);
        assert!(Store::new(&world.kv).outbox_active().unwrap().is_empty());
    }

    #[test]
    fn backoff_grows_is_capped_and_honours_retry_after() {
        let world = World::new(FakeConfig::default(), 0);
        let env = world.env();
        let upstream = ConnectorError::Upstream {
            service: crate::error::Service::Partner,
            status: 503,
            message: "down".into(),
        };
        for attempts in 1..40 {
            let ceiling = (BASE_BACKOFF_MS << (attempts - 1).min(30)).min(MAX_BACKOFF_MS);
            for _ in 0..20 {
                assert!(backoff_ms(&env, attempts, &upstream) <= ceiling);
            }
        }
        let limited = ConnectorError::RateLimited {
            retry_after_ms: Some(30_000),
        };
        for _ in 0..20 {
            assert!(backoff_ms(&env, 1, &limited) >= 30_000);
        }
        // Full jitter: the waits spread over the window instead of all being the ceiling.
        let waits: std::collections::BTreeSet<u64> =
            (0..50).map(|_| backoff_ms(&env, 5, &upstream)).collect();
        assert!(waits.len() > 10, "{waits:?}");
    }

    #[test]
    fn what_a_retry_can_fix_is_kept() {
        assert!(keeps(&ConnectorError::RateLimited {
            retry_after_ms: None
        }));
        assert!(keeps(&ConnectorError::Conflict("reporting now".into())));
        assert!(!keeps(&ConnectorError::NotConfigured(
            "partner_callback_url".into()
        )));
        assert!(!keeps(&ConnectorError::InvalidInput("bad data".into())));
        assert!(!keeps(&ConnectorError::Internal("kv".into())));
    }
}
